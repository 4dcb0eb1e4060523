"""Small helpers the payment modules share: Stripe ids, emails and timestamps, row locks,
and our donation intents and verified supporters by the keys Stripe carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select

from fundraiser.database import run
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, Supporter


def from_unix(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(int(seconds), UTC)


def locked(query, skip_locked: bool = False):
    """Lock the row (PostgreSQL) and refresh it: another worker may just have changed it.
    With skip_locked, a row another transaction holds is passed by instead of waited for."""
    return query.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)


def intent_by_public_id(public_id: str | None, lock: bool = False) -> DonationIntent | None:
    if not public_id:
        return None
    query = select(DonationIntent).where(DonationIntent.public_id == public_id)
    return db.session.scalar(locked(query) if lock else query)


_VERIFIED_SUPPORTER = select(Supporter.id).where(
    Supporter.email == bindparam("email"), Supporter.email_verified_at.is_not(None)
)


def verified_supporter_id(email: str | None) -> int | None:
    if not email:
        return None
    return run(_VERIFIED_SUPPORTER, {"email": email}).scalar()


def email_of(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate and "@" in candidate:
            return candidate.strip().lower()
    return None


def id_of(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value
