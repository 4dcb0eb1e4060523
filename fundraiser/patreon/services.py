"""The Patreon adapter: a member (from a webhook, the API or the members export) becomes a
mirrored pledge, and a charge marked Paid becomes a payment keyed by member and charge date,
so a repeated or reordered message books nothing twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, select

from fundraiser.audit import record as audit
from fundraiser.campaigns.services import default_campaign
from fundraiser.extensions import db
from fundraiser.models import (
    Channel,
    EntryKind,
    Frequency,
    LedgerEntry,
    Pledge,
    PledgeStatus,
    ledger_key,
    utcnow,
)
from fundraiser.payments import channel_books, ledger
from fundraiser.payments.channel_books import ChannelFact
from fundraiser.payments.ledger import Transaction
from fundraiser.payments.lookups import email_of, verified_supporter_id

log = logging.getLogger(__name__)

PATREON = Channel.PATREON.value
MEMBER_EVENTS = {
    "members:create",
    "members:update",
    "members:delete",
    "members:pledge:create",
    "members:pledge:update",
    "members:pledge:delete",
}
STATUS_BY_PATRON_STATUS = {
    "active_patron": PledgeStatus.ACTIVE,
    "declined_patron": PledgeStatus.PAST_DUE,
    "former_patron": PledgeStatus.CANCELLED,
}


class BadMember(ValueError):
    """A member document we cannot read."""


def signature_ok(raw: bytes, signature: str | None) -> bool:
    """X-Patreon-Signature: the hex HMAC-MD5 of the raw body with PATREON_WEBHOOK_SECRET."""
    secret = current_app.config.get("PATREON_WEBHOOK_SECRET")
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.md5).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


@dataclass(frozen=True)
class Member:
    """What we keep of a Patreon member (JSON:API `member` resource)."""

    #: The patron's user id (else the member id): our key for their pledge and charges.
    id: str
    email: str | None
    full_name: str
    amount_cents: int
    patron_status: str | None
    cadence: int
    last_charge_date: datetime | None
    last_charge_status: str | None
    lifetime_cents: int | None

    @classmethod
    def from_resource(cls, resource: dict) -> Member:
        if not isinstance(resource, dict) or resource.get("type") != "member":
            raise BadMember("not a member resource")
        member_id = resource.get("id")
        attributes = resource.get("attributes")
        if not isinstance(member_id, str) or not member_id or not isinstance(attributes, dict):
            raise BadMember("a member without id or attributes")
        amount = attributes.get("currently_entitled_amount_cents") or 0
        cadence = attributes.get("pledge_cadence") or 1
        lifetime = attributes.get("lifetime_support_cents")
        if not all(isinstance(v, int) and 0 <= v < 10**10 for v in (amount, cadence)):
            raise BadMember("amounts are not whole cents")
        # Keyed by the patron's user id when given: the members export names only that, so
        # the webhook, the API and the export meet on one pledge and one row per charge.
        user = ((resource.get("relationships") or {}).get("user") or {}).get("data") or {}
        user_id = user.get("id") if isinstance(user, dict) else None
        return cls(
            id=(user_id if isinstance(user_id, str) and user_id else member_id)[:100],
            email=email_of(
                attributes.get("email") if isinstance(attributes.get("email"), str) else None
            ),
            full_name=str(attributes.get("full_name") or "")[:200],
            amount_cents=amount,
            patron_status=attributes.get("patron_status"),
            cadence=cadence,
            last_charge_date=_when(attributes.get("last_charge_date")),
            last_charge_status=attributes.get("last_charge_status"),
            lifetime_cents=lifetime if isinstance(lifetime, int) else None,
        )


def _when(text) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadMember(f"date {text[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def currency() -> str:
    configured = current_app.config.get("PATREON_CURRENCY")
    if configured:
        return configured
    campaign = default_campaign()
    return campaign.currency if campaign else "USD"


def apply_member(member: Member, deleted: bool, tx: Transaction, snapshot: bool = False) -> None:
    """Mirror the member as a pledge and book its last charge if Paid and new. `snapshot`:
    the member comes from a fresh read of Patreon (sync, export), not a webhook that may be
    late, so its lifetime support replaces the one we keep even when it is lower."""
    campaign = default_campaign()
    if campaign is None:
        raise BadMember("no default campaign to book Patreon on")
    pledge = _mirror(member, deleted, campaign.id, tx)
    _note_lifetime(pledge, member.lifetime_cents, snapshot)
    charge = charge_id(member)
    if charge is None:
        return
    channel_books.record(
        ChannelFact(
            channel=PATREON,
            external_id=charge,
            kind=EntryKind.PAYMENT,
            campaign_id=pledge.campaign_id,
            amount_minor=member.amount_cents,
            currency=pledge.currency,
            occurred_at=member.last_charge_date,
            frequency=Frequency.YEARLY.value
            if pledge.interval == "year"
            else Frequency.MONTHLY.value,
            email=member.email,
            name=member.full_name,
            pledge_id=pledge.id,
            payment_external_id=charge,
        ),
        tx,
    )


def charge_id(member: Member) -> str | None:
    """The ledger id of the member's last charge ("member:day") when it is Paid, else None:
    Patreon sends no event per charge, so one member and charge date is one payment."""
    if member.last_charge_status != "Paid" or member.last_charge_date is None:
        return None
    if member.amount_cents <= 0:
        return None
    return f"{member.id}:{member.last_charge_date.date().isoformat()}"


def _note_lifetime(pledge: Pledge, lifetime_cents: int | None, snapshot: bool) -> None:
    """Keep Patreon's lifetime support for the drift report. Webhooks can arrive out of
    order, and the total only grows between refunds: a webhook never lowers it."""
    if lifetime_cents is None:
        return
    kept = pledge.reported_lifetime_minor
    if snapshot or kept is None or lifetime_cents > kept:
        pledge.reported_lifetime_minor = lifetime_cents


def _mirror(member: Member, deleted: bool, campaign_id: int, tx: Transaction) -> Pledge:
    key = ledger_key(PATREON, member.id)
    now = utcnow()
    interval = "year" if member.cadence == 12 else "month"
    pledge = channel_books.mirrored_pledge(
        key, PATREON, campaign_id, member.email, member.amount_cents, currency(), interval
    )
    if pledge.status == PledgeStatus.CANCELLED.value:
        return pledge  # a late create or update does not revive a deleted pledge
    target = (
        PledgeStatus.CANCELLED
        if deleted
        else STATUS_BY_PATRON_STATUS.get(member.patron_status or "", PledgeStatus.INCOMPLETE)
    )
    changed = False
    if member.amount_cents and (pledge.amount_minor, pledge.interval) != (
        member.amount_cents,
        interval,
    ):
        pledge.amount_minor, pledge.interval, changed = member.amount_cents, interval, True
    if member.email and pledge.email != member.email:
        pledge.email, pledge.supporter_id = member.email, verified_supporter_id(member.email)
    if target is not PledgeStatus.INCOMPLETE and pledge.move_to(target, tx.actor):
        changed = True
        if target is PledgeStatus.CANCELLED:
            pledge.cancelled_at, pledge.cancel_reason = now, "patreon: member left"
    if changed:
        pledge.revision += 1
        audit(tx.actor, "pledge.mirrored", key, channel=PATREON, status=pledge.status)
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=pledge.campaign_id)
    return pledge


def receive_webhook(raw: bytes, event: str | None, signature: str | None) -> tuple[int, str]:
    """(HTTP status, reason) for one webhook POST."""
    if not signature_ok(raw, signature):
        return 400, "bad or missing signature"
    if event not in MEMBER_EVENTS:
        return 200, "ignored"
    try:
        document = json.loads(raw)
        member = Member.from_resource(document.get("data") if isinstance(document, dict) else None)
    except (ValueError, BadMember) as error:
        return 400, f"not a member document: {error}"
    deleted = event.endswith(":delete")
    try:
        ledger.change(f"patreon:{event}"[:100], lambda tx: apply_member(member, deleted, tx))
    except BadMember as error:
        return 400, str(error)
    return 200, "ok"


def drift(members: list[Member]) -> list[tuple[Member, int]]:
    """Members whose lifetime support at Patreon differs from what our ledger holds for them."""
    drifted = []
    for member in members:
        if member.lifetime_cents is None:
            continue
        ours = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
                LedgerEntry.channel == PATREON,
                LedgerEntry.external_id.startswith(f"{member.id}:", autoescape=True),
            )
        )
        if int(ours) != member.lifetime_cents:
            drifted.append((member, int(ours)))
    return drifted
