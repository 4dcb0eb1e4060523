"""Test data builders: ledger rows booked through the books' own unit of work, as the app does."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import Campaign, EntryKind, LedgerEntry, Pledge, utcnow
from fundraiser.payments import ledger, ledger_writes

_counter = itertools.count(1)


def payment(
    campaign: Campaign,
    amount_minor: int,
    *,
    currency: str | None = None,
    occurred_at: datetime | None = None,
    fee_minor: int | None = None,
    frequency: str = "one-time",
    email: str | None = "donor@example.org",
    name: str = "",
    pledge: Pledge | None = None,
    announce: bool = True,
    **columns,
) -> LedgerEntry:
    """A payment row, as the webhook handler records it (announce=False: as if its
    after-commit effects were lost, say with another process's cache invalidation); other
    columns (supporter_id, intent_id, pledge_id…) as keywords."""
    number = next(_counter)
    values = {
        "stripe_ref": f"pi_factory_{number}",
        "kind": EntryKind.PAYMENT.value,
        "campaign_id": campaign.id,
        "payment_ref": f"pi_factory_{number}",
        "charge_id": f"ch_factory_{number}",
        "invoice_id": f"in_factory_{number}" if pledge else None,
        "pledge_id": pledge.id if pledge else None,
        "frequency": frequency,
        "amount_minor": amount_minor,
        "fee_minor": fee_minor,
        "currency": currency or campaign.currency,
        "donor_email": email,
        "donor_name": name,
        "occurred_at": occurred_at or utcnow() - timedelta(minutes=5),
    }
    return book(LedgerEntry(**{**values, **columns}), announce)


def book(entry: LedgerEntry, announce: bool = True) -> LedgerEntry:
    """Book a ledger row (given as an unsaved model) as the books do: the row, its roll-ups
    and the after-commit effects, in one `ledger.change`."""
    values = {
        column.key: getattr(entry, column.key)
        for column in entry.__table__.c
        if column.key != "id" and getattr(entry, column.key) is not None
    }
    values.setdefault("created_at", utcnow())
    values.setdefault("donor_name", "")
    if announce:
        entry_id = ledger.change("test:factory", lambda tx: ledger_writes.book_entry(values, tx))
    else:
        entry_id = ledger_writes.book_entry(values, ledger.Transaction("test:unannounced"))
        db.session.commit()
    return db.session.get(LedgerEntry, entry_id)


def add_payment(
    campaign_slug: str,
    amount_minor: int,
    *,
    email: str | None = None,
    currency: str | None = None,
    frequency: str = "one-time",
    fee_minor: int | None = None,
    occurred_at: datetime | None = None,
    announce: bool = True,
) -> LedgerEntry:
    """A paid gift to the campaign `campaign_slug`, from a donor of its own unless given `email`."""
    return payment(
        campaign_by_slug(campaign_slug),
        amount_minor,
        currency=currency,
        occurred_at=occurred_at or utcnow() - timedelta(minutes=1),
        fee_minor=fee_minor,
        frequency=frequency,
        email=email or f"donor{next(_counter)}@example.org",
        announce=announce,
    )
