"""Pledges: recurring donations, each mirroring one Stripe subscription."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fundraiser.models.base import Base, UTCDateTime, utcnow
from fundraiser.models.campaign import Campaign


class PledgeStatus(StrEnum):
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELLED = "cancelled"


#: Stripe is the authority on a subscription's state; this table only stops a dead pledge
#: from coming back to life when an old event arrives late.
PLEDGE_TRANSITIONS: dict[PledgeStatus, set[PledgeStatus]] = {
    PledgeStatus.INCOMPLETE: set(PledgeStatus) - {PledgeStatus.INCOMPLETE},
    PledgeStatus.ACTIVE: {PledgeStatus.PAST_DUE, PledgeStatus.PAUSED, PledgeStatus.CANCELLED},
    PledgeStatus.PAST_DUE: {PledgeStatus.ACTIVE, PledgeStatus.PAUSED, PledgeStatus.CANCELLED},
    PledgeStatus.PAUSED: {PledgeStatus.ACTIVE, PledgeStatus.PAST_DUE, PledgeStatus.CANCELLED},
    PledgeStatus.CANCELLED: set(),
}


class Pledge(Base):
    __tablename__ = "pledges"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    #: The subscription item whose price carries the amount (needed to change it).
    stripe_item_id: Mapped[str | None] = mapped_column(String(255))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    intent_id: Mapped[int | None] = mapped_column(ForeignKey("donation_intents.id"))
    supporter_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"), index=True)
    #: Lower-cased; links the pledge to an account once that email is verified.
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    #: "month" or "year", as Stripe names it.
    interval: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(12), default=PledgeStatus.INCOMPLETE.value)
    #: When the next payment is due (end of the current period), if any.
    next_payment_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Counts the changes applied to this pledge; a change's announcement is keyed by it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Stripe `created` of the newest state applied, so older snapshots are ignored.
    stripe_synced_at: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()

    @property
    def monthly_minor(self) -> int:
        """The pledge's monthly value in minor units (yearly pledges count a twelfth)."""
        return self.amount_minor if self.interval == "month" else self.amount_minor // 12

    def move_to(self, status: PledgeStatus, actor: str = "") -> bool:
        """Change status if allowed; returns whether it changed."""
        current = PledgeStatus(self.status)
        if current == status or status not in PLEDGE_TRANSITIONS[current]:
            return False
        self.status = status.value
        return True
