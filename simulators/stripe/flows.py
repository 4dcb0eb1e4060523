"""What happens at 'Stripe' when money moves: checkout completion, billing, refunds, disputes."""

from __future__ import annotations

import calendar
import json
from contextlib import suppress
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from . import shapes
from .cards import Card
from .core import diff
from .params import ZERO_DECIMAL, StripeError, format_amount, not_found

if TYPE_CHECKING:
    from .core import Simulator

JSON = dict[str, Any]
DAY = 86400
DISPUTE_FEE = 1500
# (basis points, fixed minor units) per currency; everything else pays the US card rate.
FEES = {"eur": (150, 25), "gbp": (150, 20)}  # Stripe's standard European and UK card pricing
US_RATE = (290, 30)
# A stand-in card for programmatic completion (POST /_sim/checkout/<id>/complete).
DEFAULT_EXPIRY = "12 / 34"


class CardDeclined(Exception):
    """A charge attempt was declined; the message is what the payer sees."""

    def __init__(self, decline_code: str, message: str) -> None:
        super().__init__(message)
        self.decline_code = decline_code
        self.message = message

    def as_stripe_error(self) -> StripeError:
        return StripeError(
            self.message,
            status=402,
            type="card_error",
            code="card_declined",
            extra={"decline_code": self.decline_code},
        )


class SessionNotOpen(Exception):
    """The checkout session was already completed or has expired."""


def fee_for(amount: int, currency: str) -> int:
    bps, fixed = FEES.get(currency, US_RATE)
    return (amount * bps + 5000) // 10000 + fixed


def snapshot(obj: JSON) -> JSON:
    return json.loads(json.dumps(obj))


def add_interval(anchor: int, interval: str, count: int, periods: int) -> int:
    """The timestamp ``periods`` billing intervals after ``anchor`` (month ends clamp)."""
    if interval == "day":
        return anchor + periods * count * DAY
    if interval == "week":
        return anchor + periods * count * 7 * DAY
    start = datetime.fromtimestamp(anchor, UTC)
    months = periods * count * (12 if interval == "year" else 1)
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return int(start.replace(year=year, month=month + 1, day=day).timestamp())


def next_period_end(sub: JSON, start: int) -> int:
    """End of the billing period starting at ``start``, keeping the subscription's anchor."""
    item = sub["items"]["data"][0]
    rec = item["price"]["recurring"]
    anchor = sub["billing_cycle_anchor"]
    periods = 1
    while (end := add_interval(anchor, rec["interval"], rec["interval_count"], periods)) <= start:
        periods += 1
    return end


# -- building blocks ------------------------------------------------------------------------


def create_customer(sim: Simulator, email: str | None, name: str | None, emit: bool = True) -> JSON:
    cus = shapes.customer(sim.new_id("cus"), sim.now(), email, name, sim.new_id("x")[2:10].upper())
    sim.store.add(cus)
    if emit:
        sim.emit("customer.created", cus)
    return cus


def create_payment_method(
    sim: Simulator, card: Card, email: str | None, name: str | None, customer_id: str | None
) -> JSON:
    pm = shapes.payment_method(
        sim.new_id("pm"), sim.now(), card.details(), email, name, customer_id
    )
    sim.store.add(pm)
    sim.store.cards[pm["id"]] = card
    return pm


def create_price(
    sim: Simulator, currency: str, unit_amount: int, product_id: str, recurring: JSON | None
) -> JSON:
    price = shapes.price(
        sim.new_id("price"), sim.now(), currency, unit_amount, product_id, recurring
    )
    return sim.store.add(price)


def create_product(sim: Simulator, name: str, description: str | None = None) -> JSON:
    return sim.store.add(shapes.product(sim.new_id("prod"), sim.now(), name, description))


def create_payment_intent(
    sim: Simulator,
    amount: int,
    currency: str,
    customer_id: str | None,
    metadata: JSON,
    description: str | None = None,
    receipt_email: str | None = None,
) -> JSON:
    pi = shapes.payment_intent(
        sim.new_id("pi"),
        sim.now(),
        amount,
        currency,
        customer_id,
        metadata,
        description,
        receipt_email,
    )
    return sim.store.add(pi)


def charge_payment_intent(
    sim: Simulator, pi: JSON, pm: JSON, decline: tuple[str, str] | None
) -> JSON:
    """Attempt a charge; emits charge.* and payment_intent.* events; raises CardDeclined."""
    ch = shapes.charge(sim.new_id("ch"), sim.now(), pi, pm, "", decline)
    ch["receipt_url"] = f"{sim.base_url}/receipts/{ch['id']}"
    sim.store.add(ch)
    pi["payment_method"] = pm["id"]
    pi["latest_charge"] = ch["id"]
    if decline:
        pi["status"] = "requires_payment_method"
        pi["last_payment_error"] = shapes.card_error(
            "card_declined", decline[0], decline[1], ch["id"], snapshot(pm)
        )
        sim.emit("charge.failed", ch)
        sim.emit("payment_intent.payment_failed", pi)
        raise CardDeclined(*decline)
    txn = record_balance(sim, ch["amount"], ch["currency"], ch["id"], "charge", ch["description"])
    ch["balance_transaction"] = txn["id"]
    pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None)
    sim.emit("charge.succeeded", ch)
    sim.emit("payment_intent.succeeded", pi)
    return ch


#: Units per euro: the simulator's fixed rate table, so a conversion is the same every run.
PER_EURO = {
    "eur": Decimal(1),
    "gbp": Decimal("0.85"),
    "usd": Decimal("1.08"),
    "jpy": Decimal("162.5"),
    "chf": Decimal("0.95"),
    "sek": Decimal("11.52"),
    "aud": Decimal("1.65"),
    "cad": Decimal("1.51"),
}


def exchange_rate(source: str, target: str) -> Decimal:
    """Units of `target` per unit of `source`, to six places (as Stripe reports it)."""
    return (PER_EURO[target] / PER_EURO[source]).quantize(Decimal("0.000001"))


def settle(amount: int, currency: str, settlement: str | None) -> tuple[int, str, Decimal | None]:
    """`amount` (minor units of `currency`) as it lands in the account: (amount, currency,
    exchange rate or None when no conversion was needed)."""
    if settlement is None or settlement == currency or currency not in PER_EURO:
        return amount, currency, None
    rate = exchange_rate(currency, settlement)
    scale = (0 if settlement in ZERO_DECIMAL else 2) - (0 if currency in ZERO_DECIMAL else 2)
    settled = Decimal(amount).scaleb(scale) * rate
    return int(settled.quantize(Decimal(1), ROUND_HALF_EVEN)), settlement, rate


def record_balance(
    sim: Simulator, amount: int, currency: str, source: str, kind: str, description: str | None
) -> JSON:
    settled, settled_currency, rate = settle(amount, currency, sim.settlement_currency)
    fee = fee_for(settled, settled_currency) if kind == "charge" else 0
    txn = shapes.balance_transaction(
        sim.new_id("txn"), sim.now(), settled, settled_currency, fee, source, kind, description
    )
    txn["exchange_rate"] = None if rate is None else float(rate)
    return sim.store.add(txn)


def require(sim: Simulator, obj_id: str | None, object_type: str, kind: str, param: str) -> JSON:
    obj = sim.store.get(obj_id or "", object_type)
    if obj is None:
        raise not_found(kind, obj_id or "", param)
    return obj


# -- checkout -------------------------------------------------------------------------------


def success_redirect(session: JSON) -> str | None:
    url = session["success_url"]
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None


def complete_checkout(
    sim: Simulator,
    session_id: str,
    card: Card,
    email: str | None,
    name: str | None,
    is_async: bool = False,
) -> JSON:
    """Pay (or set up) an open session with ``card``; returns the session; raises CardDeclined."""
    with sim.transaction():
        session = sim.store.get(session_id, "checkout.session")
        if session is None:
            raise not_found("checkout session", session_id)
        if session["status"] != "open":
            raise SessionNotOpen(session["status"])
        email = email or session["customer_email"]
        if session["customer"] and not email:
            email = sim.store.objects[session["customer"]]["email"]
        if is_async and session["mode"] != "payment":
            raise StripeError("Delayed payment methods are only simulated in payment mode.")
        handler = {"payment": _complete_payment, "subscription": _complete_subscription}.get(
            session["mode"], _complete_setup
        )
        handler(sim, session, card, email, name, is_async)
        return session


def _finish_session(sim: Simulator, session: JSON, customer: JSON | None, email, name) -> None:
    session["status"] = "complete"
    session["customer"] = customer["id"] if customer else session["customer"]
    session["customer_details"] = shapes.customer_details(email, name)
    session["collected_information"] = shapes.collected_information()
    session["url"] = None
    sim.store.open_sessions.discard(session["id"])
    sim.emit("checkout.session.completed", session)


def _session_customer(sim: Simulator, session: JSON, email, name) -> JSON:
    if session["customer"]:
        return sim.store.objects[session["customer"]]
    return create_customer(sim, email, name)


def _complete_payment(sim: Simulator, session: JSON, card: Card, email, name, is_async) -> None:
    decline = card.decline_on_checkout()
    pi = sim.store.get(session["payment_intent"] or "")
    if decline:
        # Stripe creates the intent on the first confirmation attempt, paid or not.
        if pi is None:
            pi = _session_payment_intent(sim, session, None, email)
        pm = create_payment_method(sim, card, email, name, None)
        charge_payment_intent(sim, pi, pm, decline)
    customer = _session_customer(sim, session, email, name)
    if pi is None:
        pi = _session_payment_intent(sim, session, customer["id"], email)
    pi["customer"] = customer["id"]
    customer["currency"] = customer["currency"] or session["currency"]
    pm = create_payment_method(sim, card, email, name, customer["id"])
    if is_async:
        pi.update(payment_method=pm["id"], status="processing")
        pi["processing"] = {"type": "card", "card": {}}
        sim.emit("payment_intent.processing", pi)
        _finish_session(sim, session, customer, email, name)
        return
    charge_payment_intent(sim, pi, pm, None)
    session["payment_status"] = "paid"
    _finish_session(sim, session, customer, email, name)


def _session_payment_intent(sim: Simulator, session: JSON, customer_id, email) -> JSON:
    options = sim.store.session_options.get(session["id"], {})
    pi = create_payment_intent(
        sim,
        session["amount_total"],
        session["currency"],
        customer_id,
        options.get("metadata", {}),
        options.get("description"),
        options.get("receipt_email") or None,
    )
    session["payment_intent"] = pi["id"]
    sim.emit("payment_intent.created", pi)
    return pi


def settle_async(sim: Simulator, session_id: str, succeeded: bool) -> JSON:
    """Resolve a delayed payment started with ``async=1``."""
    with sim.transaction():
        session = sim.store.get(session_id, "checkout.session")
        if session is None:
            raise not_found("checkout session", session_id)
        pi = sim.store.get(session["payment_intent"] or "", "payment_intent")
        if session["status"] != "complete" or pi is None or pi["status"] != "processing":
            raise StripeError("This session has no pending delayed payment.")
        pm = sim.store.objects[pi["payment_method"]]
        pi["processing"] = None
        if succeeded:
            charge_payment_intent(sim, pi, pm, None)
            session["payment_status"] = "paid"
            sim.emit("checkout.session.async_payment_succeeded", session)
            return session
        with suppress(CardDeclined):
            charge_payment_intent(sim, pi, pm, ("generic_decline", "The payment failed."))
        sim.emit("checkout.session.async_payment_failed", session)
        return session


def _complete_setup(sim: Simulator, session: JSON, card: Card, email, name, is_async) -> None:
    decline = card.decline_on_checkout()
    if decline:
        raise CardDeclined(*decline)
    seti = sim.store.objects[session["setup_intent"]]
    pm = create_payment_method(sim, card, email, name, session["customer"])
    seti.update(status="succeeded", payment_method=pm["id"], customer=session["customer"])
    sim.emit("setup_intent.succeeded", seti)
    customer = sim.store.get(session["customer"] or "")
    _finish_session(sim, session, customer, email, name)


def _complete_subscription(
    sim: Simulator, session: JSON, card: Card, email, name, is_async
) -> None:
    decline = card.decline_on_checkout()
    if decline:
        raise CardDeclined(*decline)
    options = sim.store.session_options.get(session["id"], {})
    customer = _session_customer(sim, session, email, name)
    customer["currency"] = customer["currency"] or session["currency"]
    pm = create_payment_method(sim, card, email, name, customer["id"])
    price = sim.store.get(sim.store.line_items[session["id"]][0]["price"]["id"])
    sub = start_subscription(sim, customer, price, pm, options)
    session.update(subscription=sub["id"], invoice=sub["latest_invoice"], payment_status="paid")
    _finish_session(sim, session, customer, email, name)


def start_subscription(
    sim: Simulator, customer: JSON, price: JSON, pm: JSON, options: JSON
) -> JSON:
    now = sim.now()
    sub_id = sim.new_id("sub")
    rec = price["recurring"]
    end = add_interval(now, rec["interval"], rec["interval_count"], 1)
    item = shapes.subscription_item(sim.new_id("si"), now, price, sub_id, now, end)
    sub = shapes.subscription(
        sub_id,
        now,
        customer["id"],
        item,
        dict(options.get("metadata", {})),
        options.get("description"),
        pm["id"],
    )
    sim.store.add(sub)
    sim.store.item_owner[item["id"]] = sub_id
    inv = create_invoice(sim, sub, "subscription_create", now, now, emit=False)
    sub["latest_invoice"] = inv["id"]
    sim.emit("customer.subscription.created", sub)
    sim.emit("invoice.created", inv)
    pay_invoice(sim, sub, inv, "paid")
    sim.store.schedule_renewal(end, sub_id)
    return sub


# -- invoices -------------------------------------------------------------------------------


def create_invoice(
    sim: Simulator, sub: JSON, reason: str, period_start: int, period_end: int, emit: bool = True
) -> JSON:
    """A draft invoice for the subscription's current period; emits invoice.created."""
    customer = sim.store.objects[sub["customer"]]
    item = sub["items"]["data"][0]
    inv_id = sim.new_id("in")
    price = item["price"]
    interval = price["recurring"]["interval"]
    product = sim.store.get(price["product"]) or {"name": "Subscription"}
    description = (
        f"1 × {product['name']} (at {format_amount(price['unit_amount'], price['currency'])}"
        f" / {interval})"
    )
    line = shapes.invoice_line(
        sim.new_id("il"),
        inv_id,
        sub,
        item,
        item["current_period_start"],
        item["current_period_end"],
        description,
    )
    number = f"{customer['invoice_prefix']}-{customer['next_invoice_sequence']:04d}"
    customer["next_invoice_sequence"] += 1
    inv = shapes.invoice(inv_id, sim.now(), customer, sub, line, reason, number, sim.base_url)
    inv.update(period_start=period_start, period_end=period_end)
    inv["default_payment_method"] = None
    sim.store.add(inv)
    if emit:
        sim.emit("invoice.created", inv)
    return inv


def finalize_invoice(sim: Simulator, inv: JSON) -> None:
    now = sim.now()
    inv.update(status="open", effective_at=now)
    inv["status_transitions"]["finalized_at"] = now
    sim.emit("invoice.finalized", inv)


def payment_method_for(sim: Simulator, sub: JSON) -> JSON | None:
    customer = sim.store.objects[sub["customer"]]
    pm_id = sub["default_payment_method"] or customer["invoice_settings"]["default_payment_method"]
    return sim.store.get(pm_id or "", "payment_method")


def pay_invoice(sim: Simulator, sub: JSON, inv: JSON, outcome: str | None) -> bool:
    """Finalize (if draft) and charge an invoice; True when paid. ``outcome`` forces a result."""
    if inv["status"] == "draft":
        finalize_invoice(sim, inv)
    pm = payment_method_for(sim, sub)
    pi = _invoice_payment_intent(sim, sub, inv)
    inv["attempted"] = True
    inv["attempt_count"] += 1
    try:
        if pm is None:
            raise CardDeclined("generic_decline", "No payment method on file.")
        charge_payment_intent(sim, pi, pm, _decline_for(sim, pm, outcome))
    except CardDeclined:
        inv["next_payment_attempt"] = sim.now() + 3 * DAY
        sim.emit("invoice.payment_failed", inv)
        return False
    _mark_paid(sim, inv, pi)
    return True


def _decline_for(sim: Simulator, pm: JSON | None, outcome: str | None) -> tuple[str, str] | None:
    if outcome == "failed":
        return ("generic_decline", "Your card was declined.")
    if outcome == "paid" or pm is None:
        return None
    card = sim.store.cards.get(pm["id"])
    return card.decline_off_session() if card else None


def _invoice_payment_intent(sim: Simulator, sub: JSON, inv: JSON) -> JSON:
    """The invoice's payment intent, created (with an invoice_payment) on the first attempt."""
    existing = sim.store.invoice_payments.get(inv["id"])
    if existing:
        return sim.store.objects[sim.store.objects[existing]["payment"]["payment_intent"]]
    description = {
        "subscription_create": "Subscription creation",
        "subscription_update": "Subscription update",
    }.get(inv["billing_reason"], "Subscription update")
    pi = create_payment_intent(
        sim, inv["amount_due"], inv["currency"], sub["customer"], {}, description
    )
    payment = shapes.invoice_payment(sim.new_id("inpay"), sim.now(), inv, pi["id"])
    sim.store.add(payment)
    sim.store.invoice_payments[inv["id"]] = payment["id"]
    return pi


def _mark_paid(sim: Simulator, inv: JSON, pi: JSON) -> None:
    now = sim.now()
    inv.update(
        status="paid",
        amount_paid=inv["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
    )
    inv["status_transitions"]["paid_at"] = now
    payment = sim.store.objects[sim.store.invoice_payments[inv["id"]]]
    payment.update(status="paid", amount_paid=inv["amount_due"])
    payment["status_transitions"]["paid_at"] = now
    sim.emit("invoice.paid", inv)
    sim.emit("invoice.payment_succeeded", inv)


def retry_invoice(sim: Simulator, inv_id: str, outcome: str | None) -> JSON:
    """Another collection attempt on an open subscription invoice (dunning, new card)."""
    with sim.transaction():
        inv = require(sim, inv_id, "invoice", "invoice", "invoice")
        if inv["status"] != "open":
            raise StripeError(f"Invoice is already {inv['status']}.", code="invoice_not_open")
        sub = sim.store.objects[inv["parent"]["subscription_details"]["subscription"]]
        before = snapshot(sub)
        if pay_invoice(sim, sub, inv, outcome) and sub["status"] == "past_due":
            sub["status"] = "active"
            sim.emit("customer.subscription.updated", sub, diff(before, sub))
        return inv


# -- renewals -------------------------------------------------------------------------------


def renew(sim: Simulator, sub: JSON, outcome: str | None) -> JSON | None:
    """Close the current period: cancel, void (paused) or bill the next one."""
    item = sub["items"]["data"][0]
    old_start, old_end = item["current_period_start"], item["current_period_end"]
    sim.store.move_clock_to(old_end)
    before = snapshot(sub)
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= old_end):
        end_subscription(sim, sub, old_end)
        return None
    pause = sub["pause_collection"]
    if pause and pause["resumes_at"] and pause["resumes_at"] <= old_end:
        sub["pause_collection"] = pause = None
    item["current_period_start"] = old_end
    item["current_period_end"] = next_period_end(sub, old_end)
    inv = create_invoice(sim, sub, "subscription_cycle", old_start, old_end)
    sub["latest_invoice"] = inv["id"]
    if pause:
        _skip_collection(sim, inv, pause["behavior"])
    elif pay_invoice(sim, sub, inv, outcome):
        sub["status"] = "active"
    else:
        sub["status"] = "past_due"
    sim.emit("customer.subscription.updated", sub, diff(before, sub))
    sim.store.schedule_renewal(item["current_period_end"], sub["id"])
    return inv


def _skip_collection(sim: Simulator, inv: JSON, behavior: str) -> None:
    """pause_collection: the invoice is created but never charged."""
    if behavior == "keep_as_draft":
        return
    finalize_invoice(sim, inv)
    now = sim.now()
    if behavior == "void":
        inv.update(status="void", amount_remaining=0)
        inv["status_transitions"]["voided_at"] = now
        sim.emit("invoice.voided", inv)
    else:
        inv["status"] = "uncollectible"
        inv["status_transitions"]["marked_uncollectible_at"] = now
        sim.emit("invoice.marked_uncollectible", inv)


def end_subscription(
    sim: Simulator, sub: JSON, when: int, reason: str = "cancellation_requested"
) -> None:
    sub.update(status="canceled", ended_at=when, cancel_at_period_end=False)
    sub["canceled_at"] = sub["canceled_at"] or when
    sub["cancellation_details"]["reason"] = sub["cancellation_details"]["reason"] or reason
    sim.emit("customer.subscription.deleted", sub)


def advance_subscription(sim: Simulator, sub_id: str, outcome: str | None) -> JSON | None:
    with sim.transaction():
        sub = require(sim, sub_id, "subscription", "subscription", "subscription")
        if sub["status"] in ("canceled", "incomplete_expired"):
            raise StripeError("A canceled subscription cannot be renewed.")
        return renew(sim, sub, outcome)


def advance_clock(sim: Simulator, seconds: float) -> JSON:
    """Move simulated time forward, renewing every subscription whose period ended."""
    counts = {"renewed": 0, "payment_failed": 0, "canceled": 0, "sessions_expired": 0}
    with sim.transaction():
        target = sim.now() + int(seconds)
        while (due := sim.store.pop_due_renewal(target)) is not None:
            _renew_due(sim, due, counts)
        sim.store.move_clock_to(target)
        for session_id in list(sim.store.open_sessions):
            session = sim.store.objects[session_id]
            if session["expires_at"] <= target:
                expire_session(sim, session)
                counts["sessions_expired"] += 1
        counts["now"] = sim.now()
    return counts


def _renew_due(sim: Simulator, due: tuple[int, str], counts: JSON) -> None:
    period_end, sub_id = due
    sub = sim.store.objects.get(sub_id)
    if sub is None or sub["status"] in ("canceled", "incomplete_expired", "paused"):
        return
    if sub["items"]["data"][0]["current_period_end"] != period_end:
        return  # stale heap entry: the period was reset since
    inv = renew(sim, sub, None)
    if inv is None:
        counts["canceled"] += 1
    elif sub["status"] == "past_due":
        counts["payment_failed"] += 1
    else:
        counts["renewed"] += 1


def expire_session(sim: Simulator, session: JSON) -> None:
    session.update(status="expired", url=None)
    sim.store.open_sessions.discard(session["id"])
    sim.emit("checkout.session.expired", session)


# -- refunds and disputes -------------------------------------------------------------------


def refund_charge(
    sim: Simulator, ch: JSON, amount: int | None, reason: str | None, metadata: JSON
) -> JSON:
    remaining = ch["amount"] - ch["amount_refunded"]
    if not ch["paid"]:
        raise StripeError(f"Charge {ch['id']} has not been captured.", code="charge_not_refundable")
    if ch["disputed"]:
        raise StripeError(
            f"Charge {ch['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    if remaining <= 0:
        raise StripeError(
            f"Charge {ch['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise StripeError(
            "Invalid positive integer", code="parameter_invalid_integer", param="amount"
        )
    if amount > remaining:
        raise StripeError(
            f"Refund amount ({format_amount(amount, ch['currency'])}) is greater than unrefunded "
            f"amount on charge ({format_amount(remaining, ch['currency'])})",
            code="amount_too_large",
            param="amount",
        )
    re = shapes.refund(sim.new_id("re"), sim.now(), ch, amount, reason, metadata)
    txn = record_balance(sim, -amount, ch["currency"], re["id"], "refund", "REFUND FOR CHARGE")
    re["balance_transaction"] = txn["id"]
    sim.store.add(re)
    before = snapshot(ch)
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
    refunds = ch["refunds"]
    refunds["data"].insert(0, re)
    sim.emit("refund.created", re)
    sim.emit("charge.refunded", ch, diff(before, ch))
    return re


def open_dispute(
    sim: Simulator,
    ch_id: str,
    amount: int | None,
    reason: str,
    inquiry: bool = False,
    prevented: bool = False,
) -> JSON:
    """A chargeback, or (inquiry) a card issuer's question: status warning_needs_response, no
    money withdrawn, the charge still refundable; or (prevented) a dispute the network
    resolved before it became one: status prevented at once, no money moved either way."""
    with sim.transaction():
        ch = require(sim, ch_id, "charge", "charge", "charge")
        if not ch["paid"] or ch["disputed"]:
            raise StripeError("This charge cannot be disputed.")
        dp = shapes.dispute(sim.new_id("dp"), sim.now(), ch, amount or ch["amount"], reason)
        dp["is_charge_refundable"] = inquiry
        if inquiry:
            dp["status"] = "warning_needs_response"
        if prevented:
            dp["status"] = "prevented"
        sim.store.add(dp)
        ch["disputed"] = True
        sim.emit("charge.dispute.created", dp)
        if prevented:
            sim.emit("charge.dispute.closed", dp)
        return dp


def close_dispute(sim: Simulator, dp_id: str, status: str) -> JSON:
    with sim.transaction():
        dp = require(sim, dp_id, "dispute", "dispute", "dispute")
        if dp["status"] in ("won", "lost", "warning_closed", "prevented"):
            raise StripeError(f"Dispute is already closed ({dp['status']}).")
        if dp["status"].startswith("warning_"):
            status = "warning_closed"  # an inquiry closes without moving money either way
        elif status == "lost":
            txn = record_balance(
                sim,
                -dp["amount"],
                dp["currency"],
                dp["id"],
                "adjustment",
                f"Chargeback withdrawal for {dp['charge']}",
            )
            _add_dispute_fee(txn)
            dp["balance_transactions"].append(snapshot(txn))
            sim.emit("charge.dispute.funds_withdrawn", dp)
        dp["status"] = status
        dp["evidence_details"]["has_evidence"] = status == "won"
        sim.emit("charge.dispute.closed", dp)
        return dp


def fail_refund(sim: Simulator, re_id: str, reason: str = "expired_or_canceled_card") -> JSON:
    """A refund the card's bank sent back: the money returns to the balance."""
    with sim.transaction():
        re = require(sim, re_id, "refund", "refund", "refund")
        if re["status"] not in ("succeeded", "pending"):
            raise StripeError(f"Refund {re_id} is {re['status']}.")
        ch = require(sim, re["charge"], "charge", "charge", "charge")
        txn = record_balance(
            sim, re["amount"], re["currency"], re["id"], "refund", "REFUND FAILURE"
        )
        before = snapshot(re)
        re.update(status="failed", failure_reason=reason, failure_balance_transaction=txn["id"])
        ch["amount_refunded"] -= re["amount"]
        ch["refunded"] = False
        for listed in ch["refunds"]["data"]:
            if listed["id"] == re_id:
                listed.update(re)
        sim.emit("refund.failed", re, diff(before, re))
        sim.emit("refund.updated", re, diff(before, re))
        return re


def _add_dispute_fee(txn: JSON) -> None:
    txn.update(fee=DISPUTE_FEE, net=txn["amount"] - DISPUTE_FEE)
    txn["fee_details"] = [
        {
            "amount": DISPUTE_FEE,
            "application": None,
            "currency": txn["currency"],
            "description": "Dispute fee",
            "type": "stripe_fee",
        }
    ]


# -- billing portal -------------------------------------------------------------------------


def replace_card(sim: Simulator, customer_id: str, card: Card, name: str | None) -> JSON:
    """The portal's 'update payment method': new default card, past-due invoices retried."""
    with sim.transaction():
        customer = require(sim, customer_id, "customer", "customer", "customer")
        decline = card.decline_on_checkout()
        if decline:
            raise CardDeclined(*decline)
        pm = create_payment_method(sim, card, customer["email"], name, customer_id)
        sim.emit("payment_method.attached", pm)
        before = snapshot(customer)
        customer["invoice_settings"]["default_payment_method"] = pm["id"]
        sim.emit("customer.updated", customer, diff(before, customer))
        for sub in list(
            sim.store.newest_first("subscription", lambda s: s["customer"] == customer_id)
        ):
            if sub["status"] not in ("canceled", "incomplete_expired"):
                _switch_card(sim, sub, pm)
        return pm


def _switch_card(sim: Simulator, sub: JSON, pm: JSON) -> None:
    before = snapshot(sub)
    sub["default_payment_method"] = pm["id"]
    inv = sim.store.get(sub["latest_invoice"] or "", "invoice")
    if (
        sub["status"] == "past_due"
        and inv
        and inv["status"] == "open"
        and pay_invoice(sim, sub, inv, None)
    ):
        sub["status"] = "active"
    sim.emit("customer.subscription.updated", sub, diff(before, sub))


def cancel_at_period_end(sim: Simulator, sub_id: str) -> JSON:
    """The portal's 'cancel subscription' (Stripe's default: at the end of the period)."""
    with sim.transaction():
        sub = require(sim, sub_id, "subscription", "subscription", "subscription")
        if sub["status"] in ("canceled", "incomplete_expired") or sub["cancel_at_period_end"]:
            return sub
        before = snapshot(sub)
        sub.update(cancel_at_period_end=True, canceled_at=sim.now())
        sub["cancel_at"] = sub["items"]["data"][0]["current_period_end"]
        sub["cancellation_details"]["reason"] = "cancellation_requested"
        sim.emit("customer.subscription.updated", sub, diff(before, sub))
        return sub
