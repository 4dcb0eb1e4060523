"""The pledge mirror: our pledges kept in line with Stripe's subscriptions (status, amount,
interval, pause), with a history row per status move and one announcement per change."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, bindparam, select

from fundraiser.audit import record as audit
from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.database import insert_if_absent, run
from fundraiser.extensions import db
from fundraiser.models import Campaign, Frequency, Pledge, PledgeStatus
from fundraiser.payments.ledger import Transaction
from fundraiser.payments.lookups import (
    email_of,
    from_unix,
    id_of,
    intent_by_public_id,
    locked,
    verified_supporter_id,
)

INTERVAL_FREQUENCY = {"month": Frequency.MONTHLY.value, "year": Frequency.YEARLY.value}
STRIPE_PLEDGE_STATUS = {
    "active": PledgeStatus.ACTIVE,
    "trialing": PledgeStatus.ACTIVE,
    "past_due": PledgeStatus.PAST_DUE,
    "unpaid": PledgeStatus.PAST_DUE,
    "paused": PledgeStatus.PAUSED,
    "canceled": PledgeStatus.CANCELLED,
    "incomplete_expired": PledgeStatus.CANCELLED,
    "incomplete": PledgeStatus.INCOMPLETE,
}


def _subscription_amount(subscription: dict) -> tuple[int, str, str, dict]:
    item = subscription["items"]["data"][0]
    price = item["price"]
    amount = int(price["unit_amount"]) * int(item.get("quantity") or 1)
    return amount, price["currency"].upper(), price["recurring"]["interval"], item


def pledge_for_subscription(subscription_id: str, lock: bool = True) -> Pledge | None:
    query = select(Pledge).where(Pledge.stripe_subscription_id == subscription_id)
    return db.session.scalar(locked(query) if lock else query)


#: paying_pledge's query: a payment needs these columns, not the pledge and its campaign.
_PAYING_PLEDGE = (
    select(
        Pledge.id,
        Pledge.email,
        Pledge.intent_id,
        Pledge.interval,
        Pledge.campaign_id,
        Campaign.slug.label("campaign_slug"),
    )
    .join(Campaign, Campaign.id == Pledge.campaign_id)
    .where(Pledge.stripe_subscription_id == bindparam("subscription_id"))
    .with_for_update(of=Pledge)
)


def paying_pledge(subscription_id: str) -> Row | None:
    """The pledge's row as a payment needs it (id, email, intent_id, interval, campaign_id,
    campaign_slug), locked like pledge_for_subscription's."""
    return run(_PAYING_PLEDGE, {"subscription_id": subscription_id}).first()


def pledge_status(subscription: dict) -> PledgeStatus:
    status = STRIPE_PLEDGE_STATUS.get(subscription.get("status"), PledgeStatus.INCOMPLETE)
    if status is PledgeStatus.ACTIVE and subscription.get("pause_collection"):
        return PledgeStatus.PAUSED
    return status


def sync_pledge(subscription: dict, tx: Transaction) -> Pledge | None:
    """Bring our pledge in line with Stripe's current subscription (creating it if new)."""
    metadata = subscription.get("metadata") or {}
    pledge = pledge_for_subscription(subscription["id"])
    if pledge is None:
        pledge = _create_pledge(subscription, metadata)
        if pledge is None:
            return None
    amount, currency, interval, item = _subscription_amount(subscription)
    pause = subscription.get("pause_collection") or {}
    wanted = {
        "amount_minor": amount,
        "currency": currency,
        "interval": interval,
        "stripe_item_id": item["id"],
        "stripe_customer_id": id_of(subscription.get("customer")),
        "next_payment_at": from_unix(item.get("current_period_end")),
        "paused_until": from_unix(pause.get("resumes_at")),
    }
    changes = {k: (getattr(pledge, k), v) for k, v in wanted.items() if getattr(pledge, k) != v}
    for key, (_old, new) in changes.items():
        setattr(pledge, key, new)
    old_status = PledgeStatus(pledge.status)
    new_status = pledge_status(subscription)
    if pledge.move_to(new_status, tx.actor):
        changes["status"] = (old_status.value, new_status.value)
        _on_status_change(pledge, subscription, new_status, tx)
    if PledgeStatus(pledge.status) is PledgeStatus.CANCELLED:
        pledge.next_payment_at = None
    if not changes:
        return pledge
    pledge.revision += 1
    tx.wrote = True
    audit(tx.actor, "pledge.synced", subscription["id"], changes=changes)
    if _supporter_would_notice(changes, old_status, new_status):
        # Keyed by the revision: the account request and Stripe's webhook bringing the same
        # change (whichever commits first makes it) announce it once.
        tx.announce("pledge_changed", f"pledge:{pledge.id}:r{pledge.revision}", pledge_id=pledge.id)
    return pledge


#: What a supporter sees of a pledge; a new period's date alone is no news.
NOTICEABLE = {"amount_minor", "currency", "interval", "paused_until", "status"}


def _supporter_would_notice(changes: dict, old: PledgeStatus, new: PledgeStatus) -> bool:
    """A change to a live pledge worth a mail: not its start (a new supporter gets the welcome
    with the receipt), and not its cancellation (which has a mail of its own)."""
    if old is PledgeStatus.INCOMPLETE or new is PledgeStatus.CANCELLED:
        return False
    return bool(NOTICEABLE & set(changes))


def _on_status_change(pledge: Pledge, subscription: dict, status: PledgeStatus, tx: Transaction):
    if status is PledgeStatus.CANCELLED:
        details = subscription.get("cancellation_details") or {}
        pledge.cancel_reason = (details.get("comment") or pledge.cancel_reason or "")[:1000]
        pledge.cancelled_at = from_unix(subscription.get("canceled_at")) or datetime.now(UTC)
        tx.announce(
            "pledge_cancelled",
            f"pledge:{pledge.id}:cancelled",
            pledge_id=pledge.id,
            reason=pledge.cancel_reason,
        )


def _create_pledge(subscription: dict, metadata: dict) -> Pledge | None:
    intent = intent_by_public_id(metadata.get("donation_intent"))
    campaign = intent.campaign if intent else campaign_by_slug(metadata.get("campaign") or "")
    if campaign is None:
        return None  # not one of ours
    amount, currency, interval, item = _subscription_amount(subscription)
    values = {
        "stripe_subscription_id": subscription["id"],
        "campaign_id": campaign.id,
        "intent_id": intent.id if intent else None,
        "email": email_of(intent.email if intent else None),
        "amount_minor": amount,
        "currency": currency,
        "interval": interval,
        "stripe_item_id": item["id"],
        "status": PledgeStatus.INCOMPLETE.value,
        "created_at": from_unix(subscription.get("created")) or datetime.now(UTC),
        "updated_at": datetime.now(UTC),
        "stripe_synced_at": 0,
        "revision": 0,
        "cancel_reason": "",
    }
    values["supporter_id"] = verified_supporter_id(values["email"])
    insert_if_absent(Pledge, values, ["stripe_subscription_id"])
    return pledge_for_subscription(subscription["id"])


def fill_in_email(paying: Row, email: str | None) -> str | None:
    """set_pledge_email for a paying_pledge row; the pledge's email after it."""
    if paying.email or not email_of(email):
        return paying.email
    pledge = db.session.get(Pledge, paying.id)  # locked already
    set_pledge_email(pledge, email)
    return pledge.email


def set_pledge_email(pledge: Pledge, email: str | None) -> None:
    """Fill in the pledge's email (from Checkout's customer details) when we did not have it."""
    email = email_of(email)
    if email and not pledge.email:
        pledge.email = email
        pledge.supporter_id = pledge.supporter_id or verified_supporter_id(email)
