"""Offline gifts (cash, cheque, bank transfer, standing order) recorded by staff: booked
like any other gift, corrected only by a reversing entry, every step in the audit log."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from fundraiser.campaigns.services import CampaignImportError, campaign_by_slug, validate_currency
from fundraiser.extensions import db
from fundraiser.models import Channel, EntryKind, LedgerEntry, Role, Supporter
from fundraiser.money import AmountError, parse_amount
from fundraiser.payments import channel_books, ledger
from fundraiser.payments.channel_books import ChannelFact
from fundraiser.payments.lookups import email_of

OFFLINE = Channel.OFFLINE.value
METHODS = ("cash", "cheque", "bank transfer", "standing order", "other")
_REFERENCE = re.compile(r"[\w./#:-]{1,80}")


class OfflineGiftError(ValueError):
    """What is wrong with the gift as given (shown to the member of staff)."""


@dataclass(frozen=True)
class OfflineGift:
    campaign_slug: str
    amount: str
    currency: str
    day: date
    method: str = "cash"
    donor_name: str = ""
    donor_email: str = ""
    reference: str = ""
    note: str = ""


def recording_staff(email: str) -> Supporter:
    """The active staff or admin account that records or corrects a gift."""
    staff = db.session.scalar(select(Supporter).where(Supporter.email == email.strip().lower()))
    if staff is None or not staff.is_active or not staff.has_role(Role.STAFF):
        raise OfflineGiftError(f"{email} is not an active staff or admin account.")
    return staff


def record_offline(gift: OfflineGift, staff: Supporter) -> LedgerEntry:
    """Book the gift (once per reference) and return its ledger row."""
    fact = _fact(gift)
    entry_id = ledger.change(f"staff:{staff.id}", lambda tx: channel_books.record(fact, tx))
    if entry_id is None:
        raise OfflineGiftError(f"A gift with the reference {gift.reference} is recorded already.")
    return db.session.get(LedgerEntry, entry_id)


def _fact(gift: OfflineGift) -> ChannelFact:
    campaign = campaign_by_slug((gift.campaign_slug or "").strip().lower())
    if campaign is None:
        raise OfflineGiftError(f"There is no campaign {gift.campaign_slug!r}.")
    try:
        currency = validate_currency(gift.currency or campaign.currency)
        amount = parse_amount(gift.amount, currency)
    except (CampaignImportError, AmountError) as error:
        raise OfflineGiftError(str(error)) from None
    if gift.day > datetime.now(UTC).date():
        raise OfflineGiftError("The date of the gift is in the future.")
    if gift.method not in METHODS:
        raise OfflineGiftError(f"The method must be one of: {', '.join(METHODS)}.")
    reference = (gift.reference or "").strip()
    if reference and not _REFERENCE.fullmatch(reference):
        raise OfflineGiftError("The reference may hold letters, digits and . / # : - (80 at most).")
    email = email_of(gift.donor_email)
    if gift.donor_email.strip() and email is None:
        raise OfflineGiftError(f"{gift.donor_email} is not an email address.")
    return ChannelFact(
        channel=OFFLINE,
        external_id=reference or f"off_{secrets.token_hex(8)}",
        kind=EntryKind.PAYMENT,
        campaign_id=campaign.id,
        amount_minor=amount,
        currency=currency,
        occurred_at=datetime.combine(gift.day, time(12), UTC),
        email=email,
        name=gift.donor_name.strip()[:200],
        audit_detail=(("method", gift.method), ("note", gift.note.strip()[:500])),
    )


def reverse_offline(entry_id: int, staff: Supporter, reason: str) -> LedgerEntry:
    """Cancel an offline gift recorded by mistake with a reversing entry (never an edit)."""
    original = db.session.get(LedgerEntry, entry_id)
    if original is None or original.channel != OFFLINE or original.kind != EntryKind.PAYMENT:
        raise OfflineGiftError("Only an offline gift can be reversed here.")
    if not reason.strip():
        raise OfflineGiftError("Say why the gift is reversed.")
    fact = ChannelFact(
        channel=OFFLINE,
        external_id=f"{original.external_id}:reversal",
        kind=EntryKind.REFUND,
        campaign_id=original.campaign_id,
        amount_minor=-original.amount_minor,
        currency=original.currency,
        occurred_at=datetime.now(UTC),
        email=original.donor_email,
        name=original.donor_name,
        payment_external_id=original.external_id,
        audit_detail=(("reason", reason.strip()[:500]),),
    )
    entry_id = ledger.change(f"staff:{staff.id}", lambda tx: channel_books.record(fact, tx))
    if entry_id is None:
        raise OfflineGiftError("That gift is reversed already.")
    return db.session.get(LedgerEntry, entry_id)


def recent_offline(limit: int = 50) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.channel == OFFLINE)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
    )


def reversed_refs(entries: list[LedgerEntry]) -> set[str]:
    """The payment refs among `entries` that have a reversing entry."""
    refs = [e.payment_ref for e in entries if e.kind == EntryKind.PAYMENT]
    return set(
        db.session.scalars(
            select(LedgerEntry.payment_ref).where(
                LedgerEntry.payment_ref.in_(refs),
                LedgerEntry.kind == EntryKind.REFUND,
                LedgerEntry.channel == OFFLINE,
            )
        )
    )
