"""Test data builders: ledger rows and supporters made through the models, as the app makes them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import EntryKind, LedgerEntry, utcnow

_counter = itertools.count(1)


def add_payment(
    campaign_slug: str,
    amount_minor: int,
    *,
    email: str | None = None,
    currency: str | None = None,
    frequency: str = "one-time",
    fee_minor: int | None = None,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """A paid gift in the ledger, as the webhook handlers would record it."""
    campaign = campaign_by_slug(campaign_slug)
    number = next(_counter)
    entry = LedgerEntry(
        stripe_ref=f"pi_factory_{number}",
        kind=EntryKind.PAYMENT.value,
        campaign_id=campaign.id,
        payment_ref=f"pi_factory_{number}",
        charge_id=f"ch_factory_{number}",
        frequency=frequency,
        amount_minor=amount_minor,
        fee_minor=fee_minor,
        currency=currency or campaign.currency,
        donor_email=email or f"donor{number}@example.org",
        occurred_at=occurred_at or utcnow() - timedelta(minutes=1),
    )
    db.session.add(entry)
    db.session.commit()
    return entry
