"""Pledges: recurring donations, each mirroring one Stripe subscription."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from fundraiser.models.base import Base, IllegalStatusMove, UTCDateTime, utcnow
from fundraiser.models.campaign import Campaign


class PledgeStatus(StrEnum):
    INCOMPLETE = "incomplete"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELLED = "cancelled"


#: Stripe is the authority on a subscription's state; this table stops a dead pledge from
#: coming back to life (handlers re-fetch the subscription, so that would be drift).
PLEDGE_TRANSITIONS: dict[PledgeStatus, set[PledgeStatus]] = {
    PledgeStatus.INCOMPLETE: set(PledgeStatus) - {PledgeStatus.INCOMPLETE},
    PledgeStatus.ACTIVE: {PledgeStatus.PAST_DUE, PledgeStatus.PAUSED, PledgeStatus.CANCELLED},
    PledgeStatus.PAST_DUE: {PledgeStatus.ACTIVE, PledgeStatus.PAUSED, PledgeStatus.CANCELLED},
    PledgeStatus.PAUSED: {PledgeStatus.ACTIVE, PledgeStatus.PAST_DUE, PledgeStatus.CANCELLED},
    PledgeStatus.CANCELLED: set(),
}
#: A snapshot from before the subscription started, arriving late: nothing changes.
PLEDGE_LATE: dict[PledgeStatus, set[PledgeStatus]] = {
    status: set() if status is PledgeStatus.INCOMPLETE else {PledgeStatus.INCOMPLETE}
    for status in PledgeStatus
}


class Pledge(Base):
    __tablename__ = "pledges"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The Stripe subscription id; for another channel "<channel>:<its id>" (a PayPal
    #: subscr_id, a Patreon member id), so one UNIQUE column keys every channel's pledges.
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    #: Where the pledge lives: stripe, paypal or patreon (only Stripe's can be changed here).
    channel: Mapped[str] = mapped_column(String(10), default="stripe", server_default="stripe")
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
    #: What the channel says this patron has given in all (Patreon's lifetime_support_cents),
    #: compared with our ledger in the drift report; None for Stripe and PayPal.
    reported_lifetime_minor: Mapped[int | None] = mapped_column(BigInteger)
    #: Counts the changes applied to this pledge; a change's announcement is keyed by it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Stripe `created` of the newest state applied, so older snapshots are ignored.
    stripe_synced_at: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship()
    #: Every status move, oldest first; written by move_to (a write-only collection: adding
    #: one loads none).
    status_history: WriteOnlyMapped[PledgeStatusChange] = relationship(
        order_by="PledgeStatusChange.id", passive_deletes=True
    )

    @property
    def monthly_minor(self) -> int:
        """The pledge's monthly value in minor units (yearly pledges count a twelfth)."""
        return self.amount_minor if self.interval == "month" else self.amount_minor // 12

    def move_to(self, status: PledgeStatus, actor: str = "") -> bool:
        """Change status along PLEDGE_TRANSITIONS, with a history row; a repeat or a late
        snapshot is a no-op; any other move raises IllegalStatusMove. Returns whether it moved."""
        current = PledgeStatus(self.status or PledgeStatus.INCOMPLETE)
        if current == status or status in PLEDGE_LATE[current]:
            return False
        if status not in PLEDGE_TRANSITIONS[current]:
            raise IllegalStatusMove(f"pledge {self.id}: {current} → {status}")
        self.status = status.value
        self.status_history.add(
            PledgeStatusChange(from_status=current.value, to_status=status.value, actor=actor)
        )
        return True


class PledgeStatusChange(Base):
    """One status move of a pledge: from, to, who, when."""

    __tablename__ = "pledge_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(100), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
