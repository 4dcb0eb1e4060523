"""Subscription changes requested through the API: modify, cancel, resume and pause."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import flows, shapes
from . import params as p
from .core import diff
from .params import StripeError, not_found

if TYPE_CHECKING:
    from .api import ApiRequest
    from .core import Simulator

JSON = dict[str, Any]
UPDATE_PARAMS = {
    "items", "pause_collection", "cancel_at_period_end", "cancel_at", "metadata",
    "default_payment_method", "cancellation_details", "proration_behavior", "description",
    "expand", "payment_behavior", "proration_date", "billing_cycle_anchor",
}  # fmt: skip
CANCEL_PARAMS = {"cancellation_details", "invoice_now", "prorate", "expand"}
FEEDBACK = (
    "customer_service", "low_quality", "missing_features", "other", "switched_service",
    "too_complex", "too_expensive", "unused",
)  # fmt: skip


def reject_unknown(params: JSON, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise StripeError(
                f"Received unknown parameter: {name}", code="parameter_unknown", param=name
            )


def load(sim: Simulator, sub_id: str) -> JSON:
    sub = sim.store.get(sub_id, "subscription")
    if sub is None:
        raise not_found("subscription", sub_id)
    return sub


def update(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(params, UPDATE_PARAMS)
    sub = load(sim, id)
    if sub["status"] in ("canceled", "incomplete_expired") and set(params) - {
        "metadata", "cancellation_details", "expand",
    }:  # fmt: skip
        raise StripeError(
            "A canceled subscription can only update its cancellation_details and metadata."
        )
    p.choice(params, "proration_behavior", ("create_prorations", "none", "always_invoice"))
    before = flows.snapshot(sub)
    _apply_simple_fields(sim, sub, params)
    interval_changed = _apply_items(sim, sub, params.get("items"))
    if interval_changed:
        _restart_billing(sim, sub)
    changes = diff(before, sub)
    if changes:
        sim.emit("customer.subscription.updated", sub, changes)
    return ctx.respond(sub)


def _apply_simple_fields(sim: Simulator, sub: JSON, params: JSON) -> None:
    if "metadata" in params:
        sub["metadata"] = p.merge_metadata(sub["metadata"], params["metadata"])
    if "description" in params:
        sub["description"] = p.string(params, "description")
    _apply_cancellation_details(sub, params)
    if "default_payment_method" in params:
        sub["default_payment_method"] = _payment_method_for(sim, sub, params)
    if "cancel_at_period_end" in params:
        _set_cancel_at(
            sim,
            sub,
            sub["items"]["data"][0]["current_period_end"]
            if p.boolean(params, "cancel_at_period_end")
            else None,
        )
        sub["cancel_at_period_end"] = sub["cancel_at"] is not None
    if "cancel_at" in params:
        _set_cancel_at(sim, sub, p.integer(params, "cancel_at"))
    if "pause_collection" in params:
        sub["pause_collection"] = _pause_collection(sim, params)


def _apply_cancellation_details(sub: JSON, params: JSON) -> None:
    details = p.dictionary(params, "cancellation_details")
    if details is None:
        return
    if "comment" in details:
        sub["cancellation_details"]["comment"] = p.string(params, "cancellation_details.comment")
    if "feedback" in details:
        sub["cancellation_details"]["feedback"] = p.choice(
            params, "cancellation_details.feedback", FEEDBACK
        )


def _set_cancel_at(sim: Simulator, sub: JSON, when: int | None) -> None:
    if when is not None and when <= sim.now():
        raise StripeError("cancel_at must be in the future.", param="cancel_at")
    sub["cancel_at"] = when
    sub["canceled_at"] = sim.now() if when else None
    sub["cancellation_details"]["reason"] = "cancellation_requested" if when else None
    if when is None:
        sub["cancel_at_period_end"] = False


def _payment_method_for(sim: Simulator, sub: JSON, params: JSON) -> str | None:
    pm_id = p.string(params, "default_payment_method")
    if pm_id is None:
        return None
    pm = sim.store.get(pm_id, "payment_method")
    if pm is None:
        raise not_found("PaymentMethod", pm_id, "default_payment_method")
    if pm["customer"] != sub["customer"]:
        raise StripeError(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            code="resource_missing",
            param="default_payment_method",
        )
    return pm_id


def _pause_collection(sim: Simulator, params: JSON) -> JSON | None:
    if params["pause_collection"] == "":
        return None  # `pause_collection=` resumes collection
    behavior = p.choice(
        params,
        "pause_collection.behavior",
        ("keep_as_draft", "mark_uncollectible", "void"),
        required=True,
    )
    resumes_at = p.integer(params, "pause_collection.resumes_at")
    if resumes_at is not None and resumes_at <= sim.now():
        raise StripeError(
            "pause_collection[resumes_at] must be in the future.",
            param="pause_collection[resumes_at]",
        )
    return {"behavior": behavior, "resumes_at": resumes_at}


def _apply_items(sim: Simulator, sub: JSON, items: Any) -> bool:
    """Swap the subscription item's price; True when the billing interval changed."""
    if items is None:
        return False
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise StripeError(
            "The simulator supports exactly one subscription item: pass items[0][id] with "
            "items[0][price] or items[0][price_data].",
            param="items",
        )
    entry = items[0]
    item = sub["items"]["data"][0]
    if entry.get("id") != item["id"]:
        raise not_found("subscription item", str(entry.get("id")), "items[0][id]")
    if entry.get("deleted") == "true" or entry.get("quantity") not in (None, "1"):
        raise StripeError("The simulator only models one item of quantity 1.", param="items[0]")
    price = _new_price(sim, sub, {"items": items})
    if price is None:
        return False
    old = item["price"]["recurring"]
    item["price"] = price
    item["plan"] = shapes.plan_from_price(price)
    new = price["recurring"]
    return (old["interval"], old["interval_count"]) != (new["interval"], new["interval_count"])


def _new_price(sim: Simulator, sub: JSON, params: JSON) -> JSON | None:
    price_id = p.string(params, "items.0.price")
    if price_id:
        price = sim.store.get(price_id, "price")
        if price is None:
            raise not_found("price", price_id, "items[0][price]")
        if not price["recurring"]:
            raise StripeError("The price specified is not recurring.", param="items[0][price]")
    elif p.dictionary(params, "items.0.price_data") is not None:
        price = _price_from_data(sim, params)
    else:
        return None
    if price["currency"] != sub["currency"]:
        raise StripeError(
            "You cannot combine currencies on a single customer. This customer has had a "
            f"subscription or payment in {sub['currency']}, but you are trying to pay in "
            f"{price['currency']}.",
            param="items[0][price_data][currency]",
        )
    return price


def _price_from_data(sim: Simulator, params: JSON) -> JSON:
    base = "items.0.price_data"
    currency = p.currency(params, f"{base}.currency")
    assert currency is not None
    amount = p.amount(params, f"{base}.unit_amount", currency, floor=False)
    product_id = p.string(params, f"{base}.product", required=True)
    if sim.store.get(product_id or "", "product") is None:
        raise not_found("product", product_id or "", "items[0][price_data][product]")
    interval = p.choice(
        params, f"{base}.recurring.interval", ("day", "week", "month", "year"), required=True
    )
    count = p.integer(params, f"{base}.recurring.interval_count") or 1
    return flows.create_price(sim, currency, amount, product_id, shapes.recurring(interval, count))


def _restart_billing(sim: Simulator, sub: JSON) -> None:
    """A new interval resets the billing cycle to now and invoices the new period at once."""
    now = sim.now()
    item = sub["items"]["data"][0]
    sub["billing_cycle_anchor"] = now
    item["current_period_start"] = now
    item["current_period_end"] = flows.next_period_end(sub, now)
    inv = flows.create_invoice(sim, sub, "subscription_update", now, now)
    sub["latest_invoice"] = inv["id"]
    sub["status"] = "active" if flows.pay_invoice(sim, sub, inv, None) else "past_due"
    sim.store.schedule_renewal(item["current_period_end"], sub["id"])


def cancel(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(params, CANCEL_PARAMS)
    sub = load(sim, id)
    if sub["status"] in ("canceled", "incomplete_expired"):
        raise StripeError(
            f"This subscription has already been canceled: '{id}'", code="resource_missing"
        )
    _apply_cancellation_details(sub, params)
    sub["canceled_at"] = None
    flows.end_subscription(sim, sub, sim.now())
    return ctx.respond(sub)


def resume(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    sim = ctx.sim
    reject_unknown(
        ctx.params, {"billing_cycle_anchor", "proration_behavior", "proration_date", "expand"}
    )
    sub = load(sim, id)
    if sub["status"] != "paused":
        raise StripeError(
            f"Subscription cannot be resumed because its status is `{sub['status']}`. Only "
            "subscriptions with `status=paused` can be resumed."
        )
    before = flows.snapshot(sub)
    _restart_billing(sim, sub)
    sim.emit("customer.subscription.resumed", sub)
    sim.emit("customer.subscription.updated", sub, diff(before, sub))
    return ctx.respond(sub)


def pause(sim: Simulator, sub_id: str) -> JSON:
    """Put a subscription in status ``paused`` (what a trial ending without a card does)."""
    with sim.transaction():
        sub = load(sim, sub_id)
        if sub["status"] not in ("active", "past_due", "trialing"):
            raise StripeError(f"Cannot pause a subscription with status {sub['status']}.")
        before = flows.snapshot(sub)
        sub["status"] = "paused"
        sim.emit("customer.subscription.paused", sub)
        sim.emit("customer.subscription.updated", sub, diff(before, sub))
        return sub
