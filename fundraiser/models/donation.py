"""Donation intents: what a reader chose on the form, before and while Stripe takes the money."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from fundraiser.models.base import Base, IllegalStatusMove, UTCDateTime, utcnow
from fundraiser.models.campaign import Campaign


class Frequency(StrEnum):
    ONE_TIME = "one-time"
    MONTHLY = "monthly"
    YEARLY = "yearly"

    @property
    def interval(self) -> str | None:
        """Stripe's recurring interval for this frequency."""
        return {"monthly": "month", "yearly": "year"}.get(self.value)


class IntentStatus(StrEnum):
    CREATED = "created"  # saved, checkout session not yet made
    OPEN = "open"  # checkout session exists, reader is paying
    COMPLETED = "completed"  # Stripe says the checkout completed (payment may still be async)
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"


#: Allowed moves; anything else is refused so a late event cannot resurrect a dead intent.
INTENT_TRANSITIONS: dict[IntentStatus, set[IntentStatus]] = {
    IntentStatus.CREATED: {IntentStatus.OPEN, IntentStatus.FAILED},
    IntentStatus.OPEN: {
        IntentStatus.COMPLETED,
        IntentStatus.PAID,
        IntentStatus.FAILED,
        IntentStatus.EXPIRED,
    },
    IntentStatus.COMPLETED: {IntentStatus.PAID, IntentStatus.FAILED},
    IntentStatus.PAID: set(),
    IntentStatus.FAILED: set(),
    IntentStatus.EXPIRED: {IntentStatus.PAID},  # a payment that beat the expiry still counts
}
#: Moves that only mean a message arrived after a later one: nothing changes, no error.
INTENT_LATE: dict[IntentStatus, set[IntentStatus]] = {
    IntentStatus.CREATED: set(),
    IntentStatus.OPEN: {IntentStatus.CREATED},
    IntentStatus.COMPLETED: {IntentStatus.CREATED, IntentStatus.OPEN},
    IntentStatus.PAID: {
        IntentStatus.CREATED,
        IntentStatus.OPEN,
        IntentStatus.COMPLETED,
        IntentStatus.EXPIRED,  # the session's expiry, reported after the payment that beat it
    },
    IntentStatus.FAILED: {IntentStatus.CREATED, IntentStatus.OPEN, IntentStatus.COMPLETED},
    IntentStatus.EXPIRED: {IntentStatus.CREATED, IntentStatus.OPEN},
}


def new_public_id() -> str:
    return uuid.uuid4().hex


class DonationIntent(Base):
    __tablename__ = "donation_intents"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable id used in Stripe metadata and idempotency keys.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    #: The gift the reader chose, in minor units.
    amount_minor: Mapped[int] = mapped_column(Integer)
    #: Added when the reader chose to cover the fees; charged = amount + fee cover.
    fee_cover_minor: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    frequency: Mapped[str] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    #: The donor allowed the supporters wall to show the amount.
    show_amount: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The message on the supporters wall: "pending" until staff approve or hide it.
    message_status: Mapped[str] = mapped_column(String(10), default="pending")
    status: Mapped[str] = mapped_column(String(12), default=IntentStatus.CREATED.value)
    #: Where the checkout came from, as keyed digests "<address>:<network>" (never the IP):
    #: a decline Stripe reports for it then counts against that source (donations.abuse).
    source: Mapped[str | None] = mapped_column(String(40))
    #: Fingerprint of the submitted form, so a double click reuses this intent.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    subscription_id: Mapped[str | None] = mapped_column(String(255), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(255))
    supporter_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"))
    #: The language of the page the reader gave on: Checkout opens in it, and their receipt
    #: is in it unless their account says otherwise.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    #: Every status move, oldest first; written by move_to (a write-only collection: adding
    #: one loads none).
    status_history: WriteOnlyMapped[IntentStatusChange] = relationship(
        order_by="IntentStatusChange.id", passive_deletes=True
    )

    @property
    def total_minor(self) -> int:
        return self.amount_minor + self.fee_cover_minor

    def can_move_to(self, status: IntentStatus) -> bool:
        """Whether move_to(status) would be taken (or ignored as late) rather than refused."""
        current = IntentStatus(self.status or IntentStatus.CREATED)
        return (
            status == current
            or status in INTENT_LATE[current]
            or status in INTENT_TRANSITIONS[current]
        )

    def move_to(self, status: IntentStatus, actor: str = "") -> bool:
        """Change status along INTENT_TRANSITIONS, with a history row; a repeat or a late
        message's move (INTENT_LATE) is a no-op; any other move raises IllegalStatusMove.
        Returns whether it moved."""
        current = IntentStatus(self.status or IntentStatus.CREATED)
        if current == status or status in INTENT_LATE[current]:
            return False
        if status not in INTENT_TRANSITIONS[current]:
            raise IllegalStatusMove(f"donation intent {self.public_id}: {current} → {status}")
        self.status = status.value
        self.status_history.add(
            IntentStatusChange(from_status=current.value, to_status=status.value, actor=actor)
        )
        return True


class IntentStatusChange(Base):
    """One status move of a donation intent: from, to, who, when."""

    __tablename__ = "donation_intent_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("donation_intents.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    #: "stripe:evt_…", "reader:thanks-page", "system" …; "" when not told.
    actor: Mapped[str] = mapped_column(String(100), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
