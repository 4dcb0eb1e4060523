"""The supporters wall: recent gifts as their donors chose to show them, and message moderation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from fundraiser.audit import record
from fundraiser.extensions import db
from fundraiser.models import Campaign, DonationIntent, IntentStatus
from fundraiser.money import format_money

WALL_SIZE = 8
PENDING, APPROVED, HIDDEN = "pending", "approved", "hidden"
MODERATION_STATES = (PENDING, APPROVED, HIDDEN)


class ModerationError(ValueError):
    """A moderation step refused; the message is for staff."""


@dataclass(frozen=True)
class WallEntry:
    name: str  # a first name, or "Anonymous"
    amount: str  # "" unless the donor allowed it
    frequency: str
    message: str  # "" until staff approved it
    at: datetime


def first_name(name: str) -> str:
    return (name or "").strip().split(" ")[0][:40]


def _entry(intent: DonationIntent) -> WallEntry:
    shown_name = "" if intent.anonymous else first_name(intent.name)
    return WallEntry(
        name=shown_name or _("Anonymous"),
        amount=format_money(intent.amount_minor, intent.currency, whole=True)
        if intent.show_amount
        else "",
        frequency=intent.frequency,
        message=intent.message if intent.message_status == APPROVED else "",
        at=intent.updated_at,
    )


def recent_supporters(campaign: Campaign, limit: int = WALL_SIZE) -> list[WallEntry]:
    """The latest paid gifts to the campaign, newest first, as their donors asked."""
    intents = db.session.scalars(
        select(DonationIntent)
        .where(
            DonationIntent.campaign_id == campaign.id,
            DonationIntent.status == IntentStatus.PAID.value,
        )
        .order_by(DonationIntent.updated_at.desc(), DonationIntent.id.desc())
        .limit(limit)
    )
    return [_entry(intent) for intent in intents]


def messages_to_moderate(state: str, limit: int = 100) -> list[DonationIntent]:
    """Paid gifts with a message in `state`, newest first."""
    return list(
        db.session.scalars(
            select(DonationIntent)
            .where(
                DonationIntent.status == IntentStatus.PAID.value,
                DonationIntent.message != "",
                DonationIntent.message_status == state,
            )
            .order_by(DonationIntent.updated_at.desc(), DonationIntent.id.desc())
            .limit(limit)
        )
    )


def moderate(intent_id: int, state: str, actor: str) -> DonationIntent:
    """Approve or hide one message; the campaign page changes version so caches renew."""
    if state not in (APPROVED, HIDDEN):
        raise ModerationError("Choose approve or hide.")
    intent = db.session.get(DonationIntent, intent_id)
    if intent is None or not intent.message:
        raise ModerationError("There is no such message.")
    if intent.message_status == state:
        return intent
    old = intent.message_status
    intent.message_status = state
    # The wall is part of the shared page: a new version renews its ETag and rendered copy.
    intent.campaign.content_version = (intent.campaign.content_version or 0) + 1
    record(actor, f"message.{state}", f"intent:{intent.id}", old=old)
    return intent
