"""Reconcile runs and webhook failures: what the drift report shows staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base, UTCDateTime, utcnow


class ReconcileRun(Base):
    __tablename__ = "reconcile_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Unix seconds the run looked back to (None: everything Stripe still lists).
    since: Mapped[int | None] = mapped_column(Integer)
    events_seen: Mapped[int] = mapped_column(Integer, default=0)
    #: Events our books had missed and that this run applied.
    events_applied: Mapped[int] = mapped_column(Integer, default=0)
    #: Objects (sessions, invoices, refunds, subscriptions) whose effects were missing.
    objects_fixed: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: "running", "ok" or "failed".
    status: Mapped[str] = mapped_column(String(10), default="running")
    detail: Mapped[str] = mapped_column(Text, default="")


class WebhookFailure(Base):
    """A delivery we answered with an error, kept for the drift report."""

    __tablename__ = "webhook_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    error: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ChannelNotice(Base):
    """A message from another channel kept for reconcile, never booked: an IPN that failed
    verification, named another account or could not be read (with its first bytes), and the
    txn_id of every verified IPN, so the report can tell activity-CSV rows IPN never confirmed."""

    __tablename__ = "channel_notices"
    __table_args__ = (Index("ix_channel_notices_channel_external_id", "channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "paypal" (the only channel that sends messages we verify by asking back).
    channel: Mapped[str] = mapped_column(String(10))
    #: "verified" (counted), "unverified", "not_ours" (another receiver) or "unreadable".
    outcome: Mapped[str] = mapped_column(String(12))
    #: The channel's id for the movement (txn_id, else subscr_id), as the message says.
    external_id: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")
    #: The message as received, cut to a few kilobytes; empty for verified ones.
    raw: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
