"""Small helpers the payment modules share: Stripe ids, emails and timestamps, row locks,
and our donation intents and verified supporters by the keys Stripe carries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select

from fundraiser.database import run
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, IntentStatus, Supporter
from fundraiser.models.donation import INTENT_TRANSITIONS


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


class IntentRow(NamedTuple):
    """What the books need of a donation intent (a DonationIntent serves too), for one a
    payment leaves as it is: its moves are DonationIntent's, but only those that change
    nothing (a repeat, a late message) can be made on it."""

    id: int
    public_id: str
    status: str
    email: str | None
    name: str
    anonymous: bool

    def can_move_to(self, status: IntentStatus) -> bool:
        return DonationIntent.can_move_to(self, status)

    def would_move_to(self, status: IntentStatus) -> bool:
        """Whether move_to(status) would change the intent (so the entity must make it)."""
        return status in INTENT_TRANSITIONS[IntentStatus(self.status or IntentStatus.CREATED)]

    def move_to(self, status: IntentStatus, actor: str = "") -> bool:
        if self.would_move_to(status):
            raise TypeError(f"donation intent {self.public_id}: load it to move it to {status}")
        return DonationIntent.move_to(self, status, actor)


_INTENT_ROW = (
    select(*(getattr(DonationIntent, name) for name in IntentRow._fields))
    .where(DonationIntent.public_id == bindparam("public_id"))
    .with_for_update()
)


def intent_row(public_id: str | None) -> IntentRow | None:
    """The donation intent's row, locked like intent_by_public_id(…, lock=True)'s."""
    if not public_id:
        return None
    row = run(_INTENT_ROW, {"public_id": public_id}).first()
    return None if row is None else IntentRow(*row)


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
