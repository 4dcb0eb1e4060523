"""Builders for dashboard tests: campaigns, ledger movements, pledges and staff accounts."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    DonationIntent,
    EntryKind,
    LedgerEntry,
    Pledge,
    Supporter,
    utcnow,
)
from fundraiser.passwords import hash_password
from tests.factories import book, payment  # noqa: F401 - one payment builder for every suite

_numbers = itertools.count(1)
STAFF_PASSWORD = "correct horse battery staple"


@functools.cache
def _staff_password_hash() -> str:
    # argon2 is slow on purpose; one hash serves every test account.
    return hash_password(STAFF_PASSWORD)


def make_campaign(
    slug: str = "appeal", currency: str = "EUR", goal_minor: int = 500_000, **fields
) -> Campaign:
    campaign = Campaign(
        slug=slug,
        title=fields.pop("title", f"The {slug} appeal"),
        body_markdown="Body.",
        goal_minor=goal_minor,
        currency=currency,
        **fields,
    )
    db.session.add(campaign)
    db.session.commit()
    return campaign


def movement(
    paid: LedgerEntry,
    kind: EntryKind,
    amount_minor: int,
    *,
    occurred_at: datetime | None = None,
    fee_minor: int | None = None,
) -> LedgerEntry:
    """A refund or dispute step against a payment; amount is signed as the ledger stores it."""
    number = next(_numbers)
    prefix = "re" if kind == EntryKind.REFUND else "dp"
    ref = f"{prefix}_dash_{number}"
    if kind != EntryKind.REFUND:
        ref = f"{ref}:{kind.value.removeprefix('dispute_')}"
    entry = LedgerEntry(
        stripe_ref=ref,
        kind=kind.value,
        campaign_id=paid.campaign_id,
        payment_ref=paid.payment_ref,
        charge_id=paid.charge_id,
        pledge_id=paid.pledge_id,
        frequency=paid.frequency,
        amount_minor=amount_minor,
        fee_minor=fee_minor,
        currency=paid.currency,
        donor_email=paid.donor_email,
        occurred_at=occurred_at or utcnow() - timedelta(minutes=1),
    )
    return book(entry)


def refund(paid: LedgerEntry, amount_minor: int, **kwargs) -> LedgerEntry:
    return movement(paid, EntryKind.REFUND, -amount_minor, **kwargs)


def pledge(
    campaign: Campaign,
    amount_minor: int,
    *,
    interval: str = "month",
    status: str = "active",
    currency: str | None = None,
    email: str = "monthly@example.org",
    created_at: datetime | None = None,
    cancelled_at: datetime | None = None,
) -> Pledge:
    number = next(_numbers)
    item = Pledge(
        stripe_subscription_id=f"sub_dash_{number}",
        stripe_customer_id=f"cus_dash_{number}",
        campaign_id=campaign.id,
        email=email,
        amount_minor=amount_minor,
        currency=currency or campaign.currency,
        interval=interval,
        status=status,
        created_at=created_at or utcnow() - timedelta(days=40),
        cancelled_at=cancelled_at,
    )
    db.session.add(item)
    db.session.commit()
    return item


@dataclass(frozen=True)
class StaffLogin:
    id: int
    email: str
    password: str
    role: str
    totp_secret: str | None
    session_version: int

    def code(self) -> str:
        return pyotp.TOTP(self.totp_secret).now()


def make_staff(
    role: str = "admin", *, email: str | None = None, enrolled: bool = True
) -> StaffLogin:
    """A staff (or supporter) account; enrolled ones have a TOTP secret already."""
    email = email or f"{role}{next(_numbers)}@staff.example.org"
    secret = pyotp.random_base32() if enrolled else None
    account = Supporter(
        email=email,
        password_hash=_staff_password_hash(),
        role=role,
        email_verified_at=utcnow(),
        totp_secret=secret,
    )
    db.session.add(account)
    db.session.commit()
    return StaffLogin(account.id, email, STAFF_PASSWORD, role, secret, account.session_version)


def gift_with_message(
    campaign: Campaign, message: str, name: str = "Ada Lovelace", **fields
) -> DonationIntent:
    """A paid gift through the form, with a message for the supporters wall."""
    intent = DonationIntent(
        campaign=campaign, amount_minor=fields.pop("amount_minor", 2500),
        currency=campaign.currency, frequency=fields.pop("frequency", "one-time"),
        email=fields.pop("email", "ada@example.org"), name=name, message=message,
        status="paid", **fields,
    )  # fmt: skip
    db.session.add(intent)
    db.session.commit()
    return intent
