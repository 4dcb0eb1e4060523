"""The /v1 endpoints: checkout sessions, payments, refunds, customers, portal, events, lists."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule

from . import flows, shapes, subscriptions
from . import params as p
from .api import KIND_NAMES, ApiRequest, created_filter, list_response, paginate
from .core import diff
from .params import StripeError, not_found
from .subscriptions import reject_unknown

if TYPE_CHECKING:
    from .core import Simulator

JSON = dict[str, Any]
LIST_PARAMS = {"limit", "starting_after", "ending_before", "created", "expand"}
SESSION_PARAMS = {
    "mode", "line_items", "success_url", "cancel_url", "metadata", "client_reference_id",
    "customer", "customer_email", "customer_creation", "payment_intent_data",
    "subscription_data", "setup_intent_data", "submit_type", "expires_at", "currency", "expand",
    # Accepted and ignored: presentation options the hosted page does not model.
    "locale", "payment_method_types", "allow_promotion_codes", "billing_address_collection",
    "ui_mode", "consent_collection", "custom_text", "phone_number_collection", "automatic_tax",
    "tax_id_collection", "invoice_creation", "payment_method_collection", "custom_fields",
    "saved_payment_method_options", "discounts", "customer_update", "payment_method_options",
    "after_expiration", "shipping_address_collection", "shipping_options", "redirect_on_completion",
}  # fmt: skip
MODE_ONLY = {
    "payment_intent_data": "payment",
    "customer_creation": "payment",
    "subscription_data": "subscription",
    "setup_intent_data": "setup",
}


# -- generic retrieve and list --------------------------------------------------------------


def retrieve(object_type: str) -> Callable[..., tuple[int, JSON]]:
    def handler(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
        obj = ctx.sim.store.get(id, object_type)
        if obj is None:
            raise not_found(KIND_NAMES[object_type], id)
        return ctx.respond(obj)

    return handler


def lister(
    object_type: str,
    url: str,
    filters: dict[str, Callable[[JSON], Any]],
) -> Callable[..., tuple[int, JSON]]:
    """A list endpoint; ``filters`` maps a query param to how to read it off an object."""

    def handler(ctx: ApiRequest) -> tuple[int, JSON]:
        reject_unknown(ctx.params, LIST_PARAMS | set(filters))
        wanted = {
            name: ctx.params[name] for name in filters if ctx.params.get(name) not in (None, "")
        }

        def keep(obj: JSON) -> bool:
            return all(_matches(filters[name](obj), value) for name, value in wanted.items())

        return list_response(ctx, ctx.sim.store.newest_first(object_type, keep), url)

    return handler


def _matches(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            _matches(actual.get(k), v) for k, v in wanted.items()
        )
    return actual == wanted


def field(name: str) -> Callable[[JSON], Any]:
    return lambda obj: obj.get(name)


def invoice_subscription(inv: JSON) -> str | None:
    details = (inv.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def list_subscriptions(ctx: ApiRequest) -> tuple[int, JSON]:
    params = ctx.params
    reject_unknown(params, LIST_PARAMS | {"customer", "price", "status"})
    status = p.choice(
        params, "status",
        ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due",
         "paused", "trialing", "unpaid"),
    )  # fmt: skip
    customer, price = p.string(params, "customer"), p.string(params, "price")

    def keep(sub: JSON) -> bool:
        if customer and sub["customer"] != customer:
            return False
        if price and sub["items"]["data"][0]["price"]["id"] != price:
            return False
        if status == "all":
            return True
        if status == "ended":
            return sub["status"] in ("canceled", "incomplete_expired")
        if status is None:
            return sub["status"] not in ("canceled", "incomplete_expired")
        return sub["status"] == status

    return list_response(ctx, ctx.sim.store.newest_first("subscription", keep), "/v1/subscriptions")


def list_events(ctx: ApiRequest) -> tuple[int, JSON]:
    params = ctx.params
    reject_unknown(params, LIST_PARAMS | {"type", "types", "delivery_success"})
    single, several = p.string(params, "type"), params.get("types")
    if single and several:
        raise StripeError("You may only specify one of these parameters: type, types.")
    patterns = [single] if single else list(several or [])
    keep_created = created_filter(params)
    store = ctx.sim.store
    records = [
        record
        for record in reversed(store.events)
        if keep_created(record.created)
        and (not patterns or any(fnmatch.fnmatchcase(record.type, pat) for pat in patterns))
    ]
    page, has_more = paginate(records, [r.id for r in records], params)
    body = b",".join(record.json_bytes() for record in page)
    more = b"true" if has_more else b"false"
    return (
        200,
        b'{"object":"list","data":[' + body + b'],"has_more":' + more + b',"url":"/v1/events"}',
    )


def retrieve_event(ctx: ApiRequest, id: str) -> tuple[int, bytes]:
    record = ctx.sim.store.event(id)
    if record is None:
        raise not_found("event", id)
    return 200, record.json_bytes()


# -- checkout sessions ----------------------------------------------------------------------


def create_checkout_session(ctx: ApiRequest) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(params, SESSION_PARAMS)
    mode = p.choice(params, "mode", ("payment", "subscription", "setup"), required=True)
    assert mode is not None
    _check_mode_params(params, mode)
    fields = _session_fields(sim, params, mode)
    session_id = sim.new_id("cs_test")
    url = f"{sim.base_url}/c/pay/{session_id}"
    session = shapes.checkout_session(session_id, sim.now(), mode, url, fields)
    if mode == "setup":
        seti = shapes.setup_intent(
            sim.new_id("seti"),
            sim.now(),
            session["customer"],
            p.metadata(params, "setup_intent_data.metadata"),
        )
        sim.store.add(seti)
        session["setup_intent"] = seti["id"]
    else:
        _add_line_items(sim, session, params, mode)
    sim.store.session_options[session_id] = _options(params, mode)
    sim.store.add(session)
    sim.store.open_sessions.add(session_id)
    return ctx.respond(session)


def _check_mode_params(params: JSON, mode: str) -> None:
    for name, only in MODE_ONLY.items():
        if name in params and mode != only:
            raise StripeError(f"You can only use `{name}` in `{only}` mode.", param=name)
    if p.string(params, "ui_mode") not in (None, "hosted"):
        raise StripeError(
            "The simulator only serves hosted Checkout (ui_mode=hosted).", param="ui_mode"
        )
    if mode != "setup" and not params.get("line_items"):
        raise p.missing("line_items")
    if mode == "setup" and params.get("line_items"):
        raise StripeError("You cannot pass `line_items` in `setup` mode.", param="line_items")


def _session_fields(sim: Simulator, params: JSON, mode: str) -> JSON:
    customer_id, email = p.string(params, "customer"), p.string(params, "customer_email")
    if customer_id and email:
        raise StripeError("You may only specify one of these parameters: customer, customer_email.")
    if customer_id and sim.store.get(customer_id, "customer") is None:
        raise not_found("customer", customer_id, "customer")
    now = sim.now()
    expires_at = p.integer(params, "expires_at") or now + 86400
    _check_expiry(expires_at, now)
    return {
        "success_url": _url(params, "success_url"),
        "cancel_url": _url(params, "cancel_url"),
        "client_reference_id": p.string(params, "client_reference_id"),
        "customer": customer_id,
        "customer_email": email,
        "customer_creation": p.choice(params, "customer_creation", ("always", "if_required")),
        "submit_type": p.choice(
            params, "submit_type", ("auto", "book", "donate", "pay", "subscribe")
        ),
        "metadata": p.metadata(params),
        "expires_at": expires_at,
        "currency": p.currency(params, "currency", required=False),
        "locale": p.choice(params, "locale", CHECKOUT_LOCALES),
    }


#: Stripe Checkout's `locale` values (a subset of Stripe's list: the ones the page speaks, plus
#: others it accepts and shows in English).
CHECKOUT_LOCALES = (
    "auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil",
    "fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl",
    "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
)  # fmt: skip


def _check_expiry(expires_at: int, now: int) -> None:
    """30 minutes to 24 hours ahead, on the simulated or the real clock.

    Callers compute ``expires_at`` from their own clock, which knows nothing of
    ``/_sim/clock/advance``; a couple of minutes of slack absorbs request latency.
    """
    slack = 120
    for clock in (now, int(time.time())):
        if clock + 1800 - slack <= expires_at <= clock + 86400 + slack:
            return
    raise StripeError(
        "The `expires_at` timestamp must be between 30 minutes and 24 hours after the "
        "Checkout Session is created.",
        param="expires_at",
    )


def _url(params: JSON, name: str) -> str | None:
    value = p.string(params, name)
    if value is not None and not value.startswith(("http://", "https://")):
        raise StripeError("Not a valid URL", code="url_invalid", param=name)
    return value


def _options(params: JSON, mode: str) -> JSON:
    key = {"payment": "payment_intent_data", "subscription": "subscription_data"}.get(mode)
    if key is None:
        return {}
    return {
        "metadata": p.metadata(params, f"{key}.metadata"),
        "description": p.string(params, f"{key}.description"),
        "receipt_email": p.string(params, f"{key}.receipt_email"),
    }


def _add_line_items(sim: Simulator, session: JSON, params: JSON, mode: str) -> None:
    entries = params["line_items"]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise StripeError("Invalid array", param="line_items")
    if mode == "subscription" and len(entries) != 1:
        raise StripeError(
            "The simulator supports one line item in subscription mode.", param="line_items"
        )
    items = [_line_item(sim, params, index, mode) for index in range(len(entries))]
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise StripeError("All line items must use the same currency.", param="line_items")
    currency = currencies.pop()
    total = sum(item["amount_total"] for item in items)
    name = "line_items[0][price_data][unit_amount]" if len(items) == 1 else "line_items"
    minimum = p.MINIMUM_AMOUNTS.get(currency, 50)
    if total < minimum:
        raise StripeError(
            "The Checkout Session's total amount due must add up to at least "
            f"{p.format_amount(minimum, currency)} {currency}",
            code="amount_too_small",
            param=name,
        )
    if total > p.MAXIMUM_AMOUNT:
        raise StripeError(
            f"Amount must be no more than {p.format_amount(p.MAXIMUM_AMOUNT, currency)}",
            code="amount_too_large",
            param=name,
        )
    session.update(currency=currency, amount_subtotal=total, amount_total=total)
    sim.store.line_items[session["id"]] = items


def _line_item(sim: Simulator, params: JSON, index: int, mode: str) -> JSON:
    base = f"line_items.{index}"
    quantity = p.integer(params, f"{base}.quantity", required=True)
    if quantity is None or quantity < 1:
        raise StripeError(
            "Quantity must be at least 1.",
            code="parameter_invalid_integer",
            param=p.param_name(f"{base}.quantity"),
        )
    price = _line_price(sim, params, base)
    if mode == "payment" and price["recurring"]:
        raise StripeError(
            "You specified `payment` mode but passed a recurring price. Either switch to "
            "`subscription` mode or use only one-time prices.",
            param=p.param_name(base),
        )
    if mode == "subscription" and not price["recurring"]:
        raise StripeError(
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
            param=p.param_name(base),
        )
    product = sim.store.objects[price["product"]]
    return shapes.checkout_line_item(sim.new_id("li"), price, quantity, product["name"])


def _line_price(sim: Simulator, params: JSON, base: str) -> JSON:
    price_id = p.string(params, f"{base}.price")
    if price_id:
        price = sim.store.get(price_id, "price")
        if price is None:
            raise not_found("price", price_id, p.param_name(f"{base}.price"))
        return price
    data = f"{base}.price_data"
    if p.dictionary(params, data) is None:
        raise p.missing(f"{p.param_name(base)}[price] or {p.param_name(data)}")
    currency = p.currency(params, f"{data}.currency")
    assert currency is not None
    amount = p.amount(params, f"{data}.unit_amount", currency, floor=False)
    product_id = p.string(params, f"{data}.product")
    if product_id is None:
        name = p.string(params, f"{data}.product_data.name", required=True)
        assert name is not None
        product_id = flows.create_product(
            sim, name, p.string(params, f"{data}.product_data.description")
        )["id"]
    elif sim.store.get(product_id, "product") is None:
        raise not_found("product", product_id, p.param_name(f"{data}.product"))
    recurring = None
    if p.dictionary(params, f"{data}.recurring") is not None:
        interval = p.choice(
            params, f"{data}.recurring.interval", ("day", "week", "month", "year"), required=True
        )
        recurring = shapes.recurring(
            interval, p.integer(params, f"{data}.recurring.interval_count") or 1
        )
    return flows.create_price(sim, currency, amount, product_id, recurring)


def update_checkout_session(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    reject_unknown(ctx.params, {"metadata", "expand"})
    session = _session(ctx.sim, id)
    if "metadata" in ctx.params:
        session["metadata"] = p.merge_metadata(session["metadata"], ctx.params["metadata"])
    return ctx.respond(session)


def expire_checkout_session(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    session = _session(ctx.sim, id)
    if session["status"] != "open":
        raise StripeError('Only Checkout Sessions with a status in ["open"] can be expired.')
    flows.expire_session(ctx.sim, session)
    return ctx.respond(session)


def session_line_items(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    _session(ctx.sim, id)
    items = list(ctx.sim.store.line_items.get(id, []))
    return list_response(
        ctx, ({**item, "created": 0} for item in items), f"/v1/checkout/sessions/{id}/line_items"
    )


def _session(sim: Simulator, session_id: str) -> JSON:
    session = sim.store.get(session_id, "checkout.session")
    if session is None:
        raise not_found("checkout.session", session_id)
    return session


# -- refunds --------------------------------------------------------------------------------


def create_refund(ctx: ApiRequest) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(params, {
        "charge", "payment_intent", "amount", "reason", "metadata", "expand",
        "instructions_email", "refund_application_fee", "reverse_transfer", "origin",
    })  # fmt: skip
    ch = _refund_charge(sim, params)
    reason = p.choice(params, "reason", ("duplicate", "fraudulent", "requested_by_customer"))
    amount = p.integer(params, "amount")
    refund = flows.refund_charge(sim, ch, amount, reason, p.metadata(params))
    return ctx.respond(refund)


def _refund_charge(sim: Simulator, params: JSON) -> JSON:
    charge_id, pi_id = p.string(params, "charge"), p.string(params, "payment_intent")
    if not charge_id and not pi_id:
        raise StripeError(
            "One of the following params should be provided for this request: payment_intent "
            "or charge."
        )
    if pi_id:
        pi = sim.store.get(pi_id, "payment_intent")
        if pi is None:
            raise not_found("payment_intent", pi_id, "payment_intent")
        if pi["status"] != "succeeded":
            raise StripeError(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        if charge_id and charge_id != pi["latest_charge"]:
            raise StripeError("The charge does not belong to this PaymentIntent.", param="charge")
        charge_id = pi["latest_charge"]
    ch = sim.store.get(charge_id or "", "charge")
    if ch is None:
        raise not_found("charge", charge_id or "", "charge")
    return ch


# -- customers ------------------------------------------------------------------------------

CUSTOMER_PARAMS = {
    "email", "name", "description", "phone", "metadata", "invoice_settings", "expand",
    "payment_method", "preferred_locales", "address",
}  # fmt: skip


def create_customer(ctx: ApiRequest) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(params, CUSTOMER_PARAMS)
    cus = flows.create_customer(
        sim, p.string(params, "email"), p.string(params, "name"), emit=False
    )
    _update_customer_fields(sim, cus, params)
    sim.emit("customer.created", cus)
    return ctx.respond(cus)


def update_customer(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(params, CUSTOMER_PARAMS - {"payment_method"})
    cus = _customer(sim, id)
    before = flows.snapshot(cus)
    for name in ("email", "name"):
        if name in params:
            cus[name] = p.string(params, name)
    _update_customer_fields(sim, cus, params)
    changes = diff(before, cus)
    if changes:
        sim.emit("customer.updated", cus, changes)
    return ctx.respond(cus)


def _update_customer_fields(sim: Simulator, cus: JSON, params: JSON) -> None:
    for name in ("description", "phone"):
        if name in params:
            cus[name] = p.string(params, name)
    if "metadata" in params:
        cus["metadata"] = p.merge_metadata(cus["metadata"], params["metadata"])
    pm_id = p.string(params, "invoice_settings.default_payment_method")
    if pm_id:
        pm = sim.store.get(pm_id, "payment_method")
        if pm is None or pm["customer"] != cus["id"]:
            raise not_found("PaymentMethod", pm_id, "invoice_settings[default_payment_method]")
        cus["invoice_settings"]["default_payment_method"] = pm_id


def delete_customer(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    sim = ctx.sim
    cus = _customer(sim, id)
    # Deleting a customer cancels their subscriptions immediately, as at Stripe.
    for sub in list(sim.store.newest_first("subscription", lambda s: s["customer"] == id)):
        if sub["status"] not in ("canceled", "incomplete_expired"):
            flows.end_subscription(sim, sub, sim.now())
    sim.emit("customer.deleted", cus)
    sim.store.deleted_customers.add(id)
    return 200, {"id": id, "object": "customer", "deleted": True}


def retrieve_customer(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    if id in ctx.sim.store.deleted_customers:
        return 200, {"id": id, "object": "customer", "deleted": True}
    return ctx.respond(_customer(ctx.sim, id))


def _customer(sim: Simulator, customer_id: str) -> JSON:
    cus = sim.store.get(customer_id, "customer")
    if cus is None or customer_id in sim.store.deleted_customers:
        raise not_found("customer", customer_id)
    return cus


def customer_payment_methods(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    _customer(ctx.sim, id)
    reject_unknown(ctx.params, LIST_PARAMS | {"type", "allow_redisplay"})
    methods = ctx.sim.store.newest_first("payment_method", lambda pm: pm["customer"] == id)
    return list_response(ctx, methods, f"/v1/customers/{id}/payment_methods")


# -- billing portal -------------------------------------------------------------------------


def create_portal_session(ctx: ApiRequest) -> tuple[int, JSON]:
    sim, params = ctx.sim, ctx.params
    reject_unknown(
        params,
        {
            "customer",
            "return_url",
            "configuration",
            "flow_data",
            "locale",
            "on_behalf_of",
            "expand",
        },
    )
    customer_id = p.string(params, "customer", required=True)
    assert customer_id is not None
    _customer(sim, customer_id)
    return_url = _url(params, "return_url")
    flow = p.dictionary(params, "flow_data")
    session_id = sim.new_id("bps")
    url = f"{sim.base_url}/p/session/{session_id}"
    session = shapes.portal_session(session_id, sim.now(), customer_id, return_url, url, flow)
    session["locale"] = p.string(params, "locale")
    sim.store.add(session)
    return ctx.respond(session)


# -- routes ---------------------------------------------------------------------------------


def routes() -> list[Rule]:
    get, post, delete = ["GET"], ["POST"], ["DELETE"]
    table: list[tuple[str, list[str], Callable[..., Any]]] = [
        ("/v1/checkout/sessions", post, create_checkout_session),
        ("/v1/checkout/sessions", get, lister("checkout.session", "/v1/checkout/sessions", {
            "payment_intent": field("payment_intent"), "subscription": field("subscription"),
            "customer": field("customer"), "status": field("status"),
            "customer_details": field("customer_details"),
        })),
        ("/v1/checkout/sessions/<id>", get, retrieve("checkout.session")),
        ("/v1/checkout/sessions/<id>", post, update_checkout_session),
        ("/v1/checkout/sessions/<id>/expire", post, expire_checkout_session),
        ("/v1/checkout/sessions/<id>/line_items", get, session_line_items),
        ("/v1/payment_intents", get, lister("payment_intent", "/v1/payment_intents", {
            "customer": field("customer"),
        })),
        ("/v1/payment_intents/<id>", get, retrieve("payment_intent")),
        ("/v1/charges", get, lister("charge", "/v1/charges", {
            "customer": field("customer"), "payment_intent": field("payment_intent"),
        })),
        ("/v1/charges/<id>", get, retrieve("charge")),
        ("/v1/invoices", get, lister("invoice", "/v1/invoices", {
            "subscription": invoice_subscription, "customer": field("customer"),
            "status": field("status"), "collection_method": field("collection_method"),
        })),
        ("/v1/invoices/<id>", get, retrieve("invoice")),
        ("/v1/invoice_payments", get, lister("invoice_payment", "/v1/invoice_payments", {
            "invoice": field("invoice"), "payment": field("payment"), "status": field("status"),
        })),
        ("/v1/invoice_payments/<id>", get, retrieve("invoice_payment")),
        ("/v1/subscriptions", get, list_subscriptions),
        ("/v1/subscriptions/<id>", get, retrieve("subscription")),
        ("/v1/subscriptions/<id>", post, subscriptions.update),
        ("/v1/subscriptions/<id>", delete, subscriptions.cancel),
        ("/v1/subscriptions/<id>/resume", post, subscriptions.resume),
        ("/v1/subscription_items/<id>", get, retrieve_subscription_item),
        ("/v1/refunds", post, create_refund),
        ("/v1/refunds", get, lister("refund", "/v1/refunds", {
            "charge": field("charge"), "payment_intent": field("payment_intent"),
        })),
        ("/v1/refunds/<id>", get, retrieve("refund")),
        ("/v1/customers", post, create_customer),
        ("/v1/customers", get, lister("customer", "/v1/customers", {"email": field("email")})),
        ("/v1/customers/<id>", get, retrieve_customer),
        ("/v1/customers/<id>", post, update_customer),
        ("/v1/customers/<id>", delete, delete_customer),
        ("/v1/customers/<id>/payment_methods", get, customer_payment_methods),
        ("/v1/billing_portal/sessions", post, create_portal_session),
        ("/v1/events", get, list_events),
        ("/v1/events/<id>", get, retrieve_event),
        ("/v1/balance_transactions", get, lister("balance_transaction", "/v1/balance_transactions",
            {"source": field("source"), "type": field("type")},
        )),
        ("/v1/balance_transactions/<id>", get, retrieve("balance_transaction")),
        ("/v1/disputes", get, lister("dispute", "/v1/disputes", {
            "charge": field("charge"), "payment_intent": field("payment_intent"),
        })),
        ("/v1/disputes/<id>", get, retrieve("dispute")),
        ("/v1/prices/<id>", get, retrieve("price")),
        ("/v1/products/<id>", get, retrieve("product")),
        ("/v1/setup_intents/<id>", get, retrieve("setup_intent")),
        ("/v1/payment_methods/<id>", get, retrieve("payment_method")),
    ]  # fmt: skip
    return [Rule(path, methods=methods, endpoint=handler) for path, methods, handler in table]


def retrieve_subscription_item(ctx: ApiRequest, id: str) -> tuple[int, JSON]:
    sub_id = ctx.sim.store.item_owner.get(id)
    if sub_id is None:
        raise not_found("subscription_item", id)
    item = ctx.sim.store.objects[sub_id]["items"]["data"][0]
    return ctx.respond(item)
