"""Stripe webhook events received (each recorded once) and the audit trail of changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base, UTCDateTime, utcnow


class StripeEvent(Base):
    __tablename__ = "stripe_events"

    #: Stripe's event id; the primary key is what makes a redelivery a no-op.
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    #: Stripe's `created` (unix seconds): the order events happened in at Stripe.
    stripe_created: Mapped[int] = mapped_column(Integer)
    #: "webhook" or "reconcile".
    source: Mapped[str] = mapped_column(String(12), default="webhook")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When its handler ran; None while a received event waits for a worker (payments.queue).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: The verified event, kept only until it is applied.
    payload: Mapped[dict | None] = mapped_column(JSON)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "stripe:evt_…", "staff:12", "supporter:7", "system".
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str] = mapped_column(String(255), default="")
    #: JSON details: amounts, old and new status, reason.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AnnouncedChange(Base):
    """Each state change announced once (payments.ledger): a key claimed in the transaction
    that made the change, so a second message about the same change sends no second mail."""

    __tablename__ = "announced_changes"

    #: The change, e.g. "pledge:42:r7" (pledge 42 at revision 7).
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
