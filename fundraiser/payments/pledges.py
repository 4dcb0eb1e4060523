"""Self-service and staff changes to pledges, made at Stripe and mirrored from its answer."""

from __future__ import annotations

import calendar
import hashlib
from datetime import datetime, timedelta

from flask_babel import gettext as _

from fundraiser.audit import record as audit_record
from fundraiser.models import Pledge, PledgeStatus, utcnow
from fundraiser.payments import gateway, ledger, lookups, pledge_mirror, pledge_policy
from fundraiser.payments.errors import NotAllowed


def _key(pledge: Pledge, action: str, *values) -> str:
    """Same change to the same pledge state → same key, so a double submit applies once."""
    state = (pledge.stripe_subscription_id, pledge.amount_minor, pledge.interval, pledge.status)
    digest = hashlib.sha256(repr((action, state, values)).encode()).hexdigest()[:32]
    return f"pledge-{action}-{digest}"


def _require_stripe(pledge: Pledge) -> None:
    """Only Stripe's pledges are changed from here; PayPal's and Patreon's are mirrors."""
    if (pledge.channel or "stripe") != "stripe":
        where = "PayPal" if pledge.channel == "paypal" else pledge.channel.capitalize()
        raise NotAllowed(
            _("This pledge is kept at %(where)s; change or cancel it there.", where=where)
        )


def _require_changeable(pledge: Pledge) -> None:
    _require_stripe(pledge)
    if pledge.status == PledgeStatus.CANCELLED.value:
        raise NotAllowed(_("This pledge has been cancelled; start a new one instead."))


def _apply(subscription: dict, actor: str, action: str, **detail) -> Pledge:
    """Mirror Stripe's answer now (its webhook brings the same state; the first to commit
    makes the change and its one mail)."""

    def mirror(tx):
        pledge = pledge_mirror.sync_pledge(subscription, tx)
        audit_record(actor, f"pledge.{action}", subscription["id"], **detail)
        return pledge

    return ledger.change(actor, mirror)


def _price_change(pledge: Pledge, amount_minor: int, interval: str) -> dict:
    subscription = gateway.retrieve_subscription(pledge.stripe_subscription_id)
    item = subscription["items"]["data"][0]
    product = item["price"]["product"]
    return {
        "items": [
            {
                "id": item["id"],
                "price_data": {
                    "currency": pledge.currency.lower(),
                    "product": product if isinstance(product, str) else product["id"],
                    "unit_amount": amount_minor,
                    "recurring": {"interval": interval},
                },
            }
        ],
        # The new amount applies from the next payment: no surprise proration charge.
        "proration_behavior": "none",
    }


def change_amount(pledge: Pledge, amount_minor: int, actor: str) -> Pledge:
    """Change what each future payment takes; the current period is not re-billed."""
    _require_changeable(pledge)
    if amount_minor == pledge.amount_minor:
        return pledge
    params = _price_change(pledge, amount_minor, pledge.interval)
    subscription = gateway.modify_subscription(
        pledge.stripe_subscription_id, _key(pledge, "amount", amount_minor), **params
    )
    return _apply(subscription, actor, "amount_changed", old=pledge.amount_minor, new=amount_minor)


def change_interval(pledge: Pledge, interval: str, actor: str) -> Pledge:
    """Switch between monthly and yearly giving (Stripe starts the new cycle now)."""
    _require_changeable(pledge)
    if interval not in pledge_policy.INTERVALS:
        raise NotAllowed(_("Choose monthly or yearly."))
    if interval == pledge.interval:
        return pledge
    params = _price_change(pledge, pledge.amount_minor, interval)
    subscription = gateway.modify_subscription(
        pledge.stripe_subscription_id, _key(pledge, "interval", interval), **params
    )
    return _apply(subscription, actor, "interval_changed", old=pledge.interval, new=interval)


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def pause(pledge: Pledge, months: int, actor: str) -> Pledge:
    """Skip payments for a few months (PAUSE_MONTHS); collection resumes by itself afterwards."""
    _require_changeable(pledge)
    if months not in pledge_policy.PAUSE_MONTHS:
        longest = max(pledge_policy.PAUSE_MONTHS)
        raise NotAllowed(_("A pause can last 1 to %(longest)s months.", longest=longest))
    resumes_at = add_months(utcnow(), months) + timedelta(minutes=1)
    subscription = gateway.modify_subscription(
        pledge.stripe_subscription_id,
        _key(pledge, "pause", months, resumes_at.date().isoformat()),
        pause_collection={"behavior": "void", "resumes_at": int(resumes_at.timestamp())},
    )
    return _apply(subscription, actor, "paused", months=months, resumes_at=resumes_at)


def resume(pledge: Pledge, actor: str) -> Pledge:
    """End a pause now; the next payment is taken on the usual date."""
    _require_changeable(pledge)
    if pledge.status != PledgeStatus.PAUSED.value:
        return pledge
    subscription = gateway.retrieve_subscription(pledge.stripe_subscription_id)
    key = _key(pledge, "resume")
    if subscription.get("status") == "paused":
        subscription = gateway.resume_subscription(pledge.stripe_subscription_id, key)
    else:
        subscription = gateway.modify_subscription(
            pledge.stripe_subscription_id, key, pause_collection=""
        )
    return _apply(subscription, actor, "resumed")


def cancel(pledge: Pledge, reason: str, actor: str) -> Pledge:
    """Stop the pledge now, with the supporter's reason if they gave one."""
    _require_stripe(pledge)
    if pledge.status == PledgeStatus.CANCELLED.value:
        return pledge
    reason = (reason or "").strip()[:500]
    subscription = gateway.cancel_subscription(
        pledge.stripe_subscription_id, reason, _key(pledge, "cancel")
    )
    return _apply(subscription, actor, "cancelled", reason=reason)


def card_update_url(pledge: Pledge, return_url: str) -> str:
    """Stripe's billing portal, where the supporter replaces the card (never on our pages)."""
    _require_stripe(pledge)
    if not pledge.stripe_customer_id:
        subscription = gateway.retrieve_subscription(pledge.stripe_subscription_id)
        pledge.stripe_customer_id = lookups.id_of(subscription.get("customer"))
    return gateway.billing_portal_url(pledge.stripe_customer_id, return_url)
