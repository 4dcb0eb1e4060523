"""Messages from other channels kept for reconcile and never booked: the IPN messages PayPal
did not vouch for (or that named another account, or that we could not read), and the txn_id
of every verified IPN so the drift report can tell which PayPal rows only a CSV announced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, select

from fundraiser.extensions import db
from fundraiser.models import Channel, ChannelNotice, LedgerEntry

#: How much of a refused message is kept (enough to read its fields, not a body's worth).
RAW_KEEP_CHARS = 4096
#: Refused messages kept at most (oldest dropped first): anyone can post one.
KEEP_REFUSED = 1000
VERIFIED = "verified"
REFUSED_OUTCOMES = ("unverified", "not_ours", "unreadable")


def _external_id(fields: dict[str, str]) -> str:
    return (fields.get("txn_id") or fields.get("subscr_id") or "")[:255]


def seen(channel: str, fields: dict[str, str]) -> None:
    """Within the caller's transaction: a verified message announced this id."""
    external_id = _external_id(fields)
    if external_id:
        db.session.add(ChannelNotice(channel=channel, outcome=VERIFIED, external_id=external_id))


def refused(channel: str, outcome: str, fields: dict[str, str], raw: bytes, reason: str) -> None:
    """Keep a message we did not count (its own small transaction; nothing else is written)."""
    db.session.rollback()
    db.session.add(
        ChannelNotice(
            channel=channel,
            outcome=outcome,
            external_id=_external_id(fields),
            reason=reason[:255],
            raw=raw[:RAW_KEEP_CHARS].decode("ascii", errors="replace"),
        )
    )
    db.session.flush()
    newest = db.session.scalar(select(func.max(ChannelNotice.id)))
    db.session.execute(
        delete(ChannelNotice).where(
            ChannelNotice.outcome.in_(REFUSED_OUTCOMES), ChannelNotice.id <= newest - KEEP_REFUSED
        )
    )
    db.session.commit()


def refused_since(start: datetime, limit: int = 200) -> list[ChannelNotice]:
    return list(
        db.session.scalars(
            select(ChannelNotice)
            .where(ChannelNotice.outcome.in_(REFUSED_OUTCOMES), ChannelNotice.received_at >= start)
            .order_by(ChannelNotice.id.desc())
            .limit(limit)
        )
    )


def paypal_rows_without_ipn(start: datetime, limit: int = 200) -> list[LedgerEntry]:
    """PayPal ledger rows since `start` (booked from the activity CSV) no verified IPN named."""
    paypal = Channel.PAYPAL.value
    announced = exists().where(
        ChannelNotice.channel == paypal,
        ChannelNotice.outcome == VERIFIED,
        ChannelNotice.external_id == LedgerEntry.external_id,
    )
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.channel == paypal, LedgerEntry.occurred_at >= start, ~announced)
            .order_by(LedgerEntry.occurred_at.desc())
            .limit(limit)
        )
    )
