"""The pledge mirror: our pledges kept in line with Stripe's subscriptions (status, amount,
interval, pause), with a history row per status move and one announcement per change."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import Row, bindparam, insert, select, update

from fundraiser.audit import entry as audit_entry
from fundraiser.audit import record as audit
from fundraiser.audit import write_entry as write_audit_entry
from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.database import insert_if_absent, run
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Campaign, Frequency, Pledge, PledgeStatus
from fundraiser.models.pledge import PLEDGE_LATE
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


def _wanted(subscription: dict) -> dict:
    """The pledge's columns as Stripe's subscription has them (status apart)."""
    amount, currency, interval, item = _subscription_amount(subscription)
    pause = subscription.get("pause_collection") or {}
    return {
        "amount_minor": amount,
        "currency": currency,
        "interval": interval,
        "stripe_item_id": item["id"],
        "stripe_customer_id": id_of(subscription.get("customer")),
        "next_payment_at": from_unix(item.get("current_period_end")),
        "paused_until": from_unix(pause.get("resumes_at")),
    }


#: The columns sync_pledge sets from the subscription (status apart).
MIRRORED = (
    "amount_minor",
    "currency",
    "interval",
    "stripe_item_id",
    "stripe_customer_id",
    "next_payment_at",
    "paused_until",
)
#: mirror_subscription's query: the pledge's id, status and mirrored columns, locked.
_MIRRORED_ROW = (
    select(Pledge.id, Pledge.status, *(getattr(Pledge, column) for column in MIRRORED))
    .where(Pledge.stripe_subscription_id == bindparam("subscription_id"))
    .with_for_update()
)


def mirror_subscription(subscription: dict, tx: Transaction) -> None:
    """sync_pledge for a subscription event, which needs no Pledge back. The common change,
    a renewal's new period, is read and written with a statement each (no entity loaded,
    locked like pledge_for_subscription); anything else goes through sync_pledge."""
    row = run(_MIRRORED_ROW, {"subscription_id": subscription["id"]}).first()
    if row is None or not _quiet_renewal(row, subscription, tx):
        sync_pledge(subscription, tx)


def _quiet_renewal(row: Row, subscription: dict, tx: Transaction) -> bool:
    """Apply sync_pledge's change to a live pledge that neither moves status nor changes
    what a supporter would notice (so no history row and no announcement): the changed
    columns, the revision and the audit entry, as sync_pledge writes them. False, having
    written nothing, for any other change."""
    status = PledgeStatus(row.status or PledgeStatus.INCOMPLETE)
    new_status = pledge_status(subscription)
    if status is PledgeStatus.CANCELLED or not (
        new_status is status or new_status in PLEDGE_LATE[status]
    ):
        return False
    wanted = _wanted(subscription)
    old = row._mapping
    changes = {k: (old[k], v) for k, v in wanted.items() if old[k] != v}
    if NOTICEABLE & set(changes):
        return False
    if changes:
        audited = audit_entry(tx.actor, "pledge.synced", subscription["id"], changes=changes)
        params = {f"new_{column}": new for column, (_old, new) in changes.items()}
        params.update(pledge_id=row.id, now=audited["created_at"])
        _write_renewal(tuple(changes), params, audited)
        tx.wrote = True
    return True


def _write_renewal(columns: tuple, params: dict, audited: dict) -> None:
    """The pledge's changed columns (revision + 1) and the audit entry: one statement on
    PostgreSQL (the INSERT fed by the UPDATE's CTE), one each elsewhere."""
    if db.session.get_bind().dialect.name != "postgresql":
        run(_renewal_update(columns), params)
        write_audit_entry(audited)
        return
    params.update({f"a_{name}": value for name, value in audited.items()})
    run(_audited_renewal_update(columns), params)


@functools.cache
def _renewal_update(columns: tuple):
    """The UPDATE of these pledge columns (revision + 1), built once per set of columns."""
    values = {column: bindparam(f"new_{column}") for column in columns}
    return (
        update(Pledge)
        .where(Pledge.id == bindparam("pledge_id"))
        .values({**values, "revision": Pledge.revision + 1, "updated_at": bindparam("now")})
    )


@functools.cache
def _audited_renewal_update(columns: tuple):
    """_renewal_update with the audit entry (`a_…` values) written by the same statement."""
    updated = _renewal_update(columns).returning(Pledge.id).cte("updated")
    names = ("actor", "action", "target", "detail", "created_at")
    entry = select(
        *(bindparam(f"a_{name}", type_=AuditEntry.__table__.c[name].type) for name in names)
    ).select_from(updated)
    return insert(AuditEntry).from_select(names, entry)


def sync_pledge(subscription: dict, tx: Transaction) -> Pledge | None:
    """Bring our pledge in line with Stripe's current subscription (creating it if new)."""
    metadata = subscription.get("metadata") or {}
    pledge = pledge_for_subscription(subscription["id"])
    if pledge is None:
        pledge = _create_pledge(subscription, metadata)
        if pledge is None:
            return None
    wanted = _wanted(subscription)
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
