"""Which channel a gift came through, for every staff page, export and mail that shows it."""

from __future__ import annotations

from sqlalchemy import case, select

from fundraiser.audit import record as audit
from fundraiser.dashboard.audit import staff_actor
from fundraiser.extensions import db
from fundraiser.models import CHANNELS, Channel, LedgerChannelTotal, LedgerEntry

#: The word staff read for each ledger channel, in display order.
LABELS = {
    Channel.STRIPE.value: "Stripe",
    Channel.PAYPAL.value: "PayPal",
    Channel.PATREON.value: "Patreon",
    Channel.OFFLINE.value: "Offline",
}


def channel_label(channel: str | None) -> str:
    """The label of a ledger channel value (rows from before channels existed are Stripe)."""
    return LABELS.get(channel or Channel.STRIPE.value, channel or "")


def channel_of(entry) -> str:
    """The channel of a ledger row (or a row read from the donations query)."""
    return channel_label(getattr(entry, "channel", None))


def channel_column(column=LedgerEntry.channel):
    """The same as a SQL expression, for queries that group or export by channel."""
    return case(*((column == value, label) for value, label in LABELS.items()), else_=column)


def channel_names() -> list[str]:
    """The channels the books hold money from (all of them while the books are empty), in
    display order; read from the all-time roll-up, a handful of rows."""
    found = set(
        db.session.scalars(
            select(LedgerChannelTotal.channel).where(LedgerChannelTotal.entries > 0).distinct()
        )
    )
    return [LABELS[value] for value in CHANNELS if value in found or not found]


def record_upload(staff, channel: str, filename: str | None, summary, dry_run: bool) -> None:
    """Audit a staff upload of a channel's export, checked or imported (the rows it booked
    have their own entries); the caller commits."""
    audit(
        staff_actor(staff),
        "staff.dry_run_import" if dry_run else "staff.import",
        channel,
        filename=(filename or "")[:200],
        new=summary.new,
        known=summary.known,
        skipped=sum(summary.skipped.values()),
        refused=len(summary.refused),
        booked=summary.booked,
    )
