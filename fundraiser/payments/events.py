"""Stripe event handlers: a dispatch table from event type to an idempotent, order-tolerant handler.

Handlers trust ids from the payload but re-fetch the objects whose state matters (payment
intents, subscriptions, refunds) from Stripe, so a late or repeated event can't roll state back.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Text, bindparam, null, select, update
from sqlalchemy.dialects import sqlite

from fundraiser import jobs
from fundraiser.audit import record as audit_record
from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.database import autocommitted_row, insert_if_absent
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, Frequency, IntentStatus, StripeEvent, utcnow
from fundraiser.payments import gateway, ledger_writes, lookups, pledge_mirror
from fundraiser.payments.ledger import Transaction
from fundraiser.payments.ledger_writes import CampaignKey, PayingPledge, PaymentContext

log = logging.getLogger(__name__)
#: Declines older than this (seen again by reconcile) say nothing about an attack now.
RECENT_DECLINE_SECONDS = 600


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    handled: bool
    #: Recorded for a worker to apply, not applied yet.
    queued: bool = False


# --- Checkout ------------------------------------------------------------------------


def apply_checkout_session(session: dict, tx: Transaction) -> DonationIntent | None:
    """Everything a checkout session tells us: the intent's state, the pledge, the payment."""
    metadata = session.get("metadata") or {}
    intent = lookups.intent_by_public_id(
        metadata.get("donation_intent") or session.get("client_reference_id"), lock=True
    )
    if intent is None:
        return None  # a session that isn't ours (another product on the same account)
    details = session.get("customer_details") or {}
    intent.checkout_session_id = intent.checkout_session_id or session["id"]
    intent.customer_id = lookups.id_of(session.get("customer")) or intent.customer_id
    intent.email = intent.email or lookups.email_of(details.get("email"))
    status = {"expired": IntentStatus.EXPIRED, "complete": IntentStatus.COMPLETED}.get(
        session.get("status")
    )
    if status is None:
        return intent
    if not intent.can_move_to(status):
        # The session says what our books contradict (a completed intent "expired"): a
        # stale or forged message changes nothing; reconcile and the drift report look again.
        log.warning("session %s: intent %s can't become %s", session["id"], intent.status, status)
        return intent
    intent.move_to(status, tx.actor)
    if status is IntentStatus.EXPIRED:
        return intent
    if session.get("mode") == "subscription" and session.get("subscription"):
        _apply_subscription_checkout(session, intent, tx)
    elif session.get("mode") == "payment" and session.get("payment_intent"):
        intent.payment_intent_id = lookups.id_of(session["payment_intent"])
        if session.get("payment_status") == "paid":
            payment_intent = gateway.retrieve_payment_intent(intent.payment_intent_id)
            context = PaymentContext(intent.campaign, intent.frequency, intent=intent)
            ledger_writes.record_payment(ledger_writes.charge_facts(payment_intent), context, tx)
    return intent


def _apply_subscription_checkout(session: dict, intent: DonationIntent, tx: Transaction) -> None:
    intent.subscription_id = lookups.id_of(session["subscription"])
    subscription = gateway.retrieve_subscription(intent.subscription_id)
    pledge = pledge_mirror.sync_pledge(subscription, tx)
    if pledge is None:
        return
    pledge_mirror.set_pledge_email(pledge, intent.email)
    invoice_id = lookups.id_of(session.get("invoice")) or subscription.get("latest_invoice")
    if session.get("payment_status") == "paid" and invoice_id:
        record_invoice_payment(gateway.retrieve_invoice(lookups.id_of(invoice_id)), tx)


def on_checkout_completed(event: dict, tx: Transaction) -> None:
    apply_checkout_session(event["data"]["object"], tx)


def on_checkout_async_failed(event: dict, tx: Transaction) -> None:
    session = event["data"]["object"]
    intent = lookups.intent_by_public_id(
        (session.get("metadata") or {}).get("donation_intent"), True
    )
    if intent is not None and intent.status == IntentStatus.PAID.value:
        # A payment already booked for it says otherwise: an old or contradicting message.
        log.warning("async failure for paid intent %s ignored", intent.public_id)
    elif intent is not None:
        intent.move_to(IntentStatus.FAILED, tx.actor)
        audit_record(tx.actor, "donation.failed", session["id"])


# --- Invoices (recurring payments) -----------------------------------------------------


def invoice_subscription(invoice: dict) -> tuple[str | None, dict]:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return lookups.id_of(details.get("subscription")), details.get("metadata") or {}


def _paid_invoice_payment(invoice: dict) -> dict | str | None:
    """The payment intent (expanded, or its id) that paid the invoice, if one did."""
    payments = (invoice.get("payments") or {}).get("data") or []
    for invoice_payment in payments:
        payment = invoice_payment.get("payment") or {}
        if invoice_payment.get("status") == "paid" and payment.get("payment_intent"):
            return payment["payment_intent"]
    return None


def _invoice_charge_facts(invoice: dict) -> ledger_writes.ChargeFacts | None:
    """From the invoice alone when its payment intent came expanded (the webhook's one call;
    the fee follows after the commit); otherwise, or in a worker already, where a second
    call costs less than booking the fee in a transaction of its own, the payment intent is
    fetched with its charge and fee."""
    if not invoice.get("payments"):
        invoice = gateway.retrieve_invoice(invoice["id"])
    payment_intent = _paid_invoice_payment(invoice)
    if isinstance(payment_intent, dict) and not jobs.in_a_job():
        return ledger_writes.invoice_charge_facts(invoice, payment_intent)
    if payment_intent is None:
        return None  # a zero-amount or void invoice moves no money
    return ledger_writes.charge_facts(
        gateway.retrieve_payment_intent(lookups.id_of(payment_intent))
    )


def record_invoice_payment(invoice: dict, tx: Transaction) -> None:
    subscription_id, metadata = invoice_subscription(invoice)
    if invoice.get("status") != "paid" or not subscription_id:
        return
    # Lock order everywhere: intent, then pledge, then ledger rows (no deadlocks).
    locked_intent = _paying_intent(metadata.get("donation_intent"))
    pledge = pledge_mirror.paying_pledge(subscription_id)
    if pledge is None:
        if pledge_mirror.sync_pledge(gateway.retrieve_subscription(subscription_id), tx) is None:
            return
        pledge = pledge_mirror.paying_pledge(subscription_id)
    email = pledge_mirror.fill_in_email(pledge, invoice.get("customer_email"))
    facts = _invoice_charge_facts(invoice)
    if facts is None:
        return
    frequency = pledge_mirror.INTERVAL_FREQUENCY.get(pledge.interval, Frequency.MONTHLY.value)
    intent = locked_intent or pledge_intent(pledge)
    context = PaymentContext(
        CampaignKey(pledge.campaign_id, pledge.campaign_slug),
        frequency,
        intent,
        PayingPledge(pledge.id, email),
        invoice["id"],
    )
    ledger_writes.record_payment(facts, context, tx)


def _paying_intent(public_id: str | None) -> DonationIntent | lookups.IntentRow | None:
    """The intent a renewal names, locked: its light row when the payment changes nothing
    on it (paid already, say), the entity when it becomes paid."""
    row = lookups.intent_row(public_id)
    if row is None or not row.would_move_to(IntentStatus.PAID):
        return row
    return lookups.intent_by_public_id(public_id, lock=True)


def pledge_intent(pledge) -> DonationIntent | None:
    return db.session.get(DonationIntent, pledge.intent_id) if pledge.intent_id else None


def on_invoice_paid(event: dict, tx: Transaction) -> None:
    """Book the invoice's payment. The pledge's new period and status arrive with
    customer.subscription.updated, which re-fetches the subscription itself."""
    invoice = event["data"]["object"]
    record_invoice_payment(gateway.retrieve_paid_invoice(invoice["id"]), tx)


def on_invoice_payment_failed(event: dict, tx: Transaction) -> None:
    invoice = event["data"]["object"]
    subscription_id, _ = invoice_subscription(invoice)
    if not subscription_id:
        return
    pledge = pledge_mirror.sync_pledge(gateway.retrieve_subscription(subscription_id), tx)
    if pledge is not None:
        audit_record(tx.actor, "pledge.payment_failed", subscription_id, invoice=invoice["id"])
        tx.announce(
            "pledge_payment_failed",
            f"invoice:{invoice['id']}:attempt:{invoice.get('attempt_count') or 0}",
            pledge_id=pledge.id,
            invoice_url=invoice.get("hosted_invoice_url"),
        )


# --- Subscriptions ---------------------------------------------------------------------


def on_subscription_event(event: dict, tx: Transaction) -> None:
    subscription_id = event["data"]["object"]["id"]
    pledge_mirror.mirror_subscription(gateway.retrieve_subscription(subscription_id), tx)


# --- One-off payments seen directly ----------------------------------------------------


def _donation_intent_named(event: dict) -> str | None:
    """Our donation intent's public id in the payment intent's metadata: set on the ones our
    checkout made, absent on a subscription invoice's (booked from the invoice instead)."""
    return (event["data"]["object"].get("metadata") or {}).get("donation_intent")


def on_payment_intent_succeeded(event: dict, tx: Transaction) -> None:
    """A one-off gift even if its checkout.session.completed never arrives."""
    intent = lookups.intent_by_public_id(_donation_intent_named(event), lock=True)
    if intent is None or intent.frequency != Frequency.ONE_TIME.value:
        return  # recurring payments are booked from their invoice
    payment_intent = gateway.retrieve_payment_intent(event["data"]["object"]["id"])
    intent.payment_intent_id = payment_intent["id"]
    context = PaymentContext(intent.campaign, intent.frequency, intent=intent)
    ledger_writes.record_payment(ledger_writes.charge_facts(payment_intent), context, tx)


# --- Refunds and disputes --------------------------------------------------------------


def ensure_payment_recorded(payment_intent_id: str, tx: Transaction):
    """The payment row for a refund or dispute, booking the payment first if we missed it."""
    entry = ledger_writes.payment_entry(payment_intent_id)
    if entry is not None:
        return entry
    payment_intent = gateway.retrieve_payment_intent(payment_intent_id)
    context = _context_for_payment_intent(payment_intent, tx)
    if context is None:
        return None
    ledger_writes.record_payment(ledger_writes.charge_facts(payment_intent), context, tx)
    return ledger_writes.payment_entry(payment_intent_id)


def _context_for_payment_intent(payment_intent: dict, tx: Transaction):
    metadata = payment_intent.get("metadata") or {}
    intent = lookups.intent_by_public_id(metadata.get("donation_intent"), lock=True)
    if intent is not None:
        return PaymentContext(intent.campaign, intent.frequency, intent=intent)
    invoice = gateway.invoice_for_payment_intent(payment_intent["id"])
    if invoice is None:
        campaign = campaign_by_slug(metadata.get("campaign") or "")
        return PaymentContext(campaign, Frequency.ONE_TIME.value) if campaign else None
    subscription_id, _ = invoice_subscription(invoice)
    if not subscription_id:
        return None
    pledge = pledge_mirror.pledge_for_subscription(subscription_id) or pledge_mirror.sync_pledge(
        gateway.retrieve_subscription(subscription_id), tx
    )
    if pledge is None:
        return None
    frequency = pledge_mirror.INTERVAL_FREQUENCY.get(pledge.interval, Frequency.MONTHLY.value)
    return PaymentContext(pledge.campaign, frequency, pledge_intent(pledge), pledge, invoice["id"])


def book_refunds(payment_intent_id: str | None, charge_id: str, tx: Transaction):
    """Every refund Stripe now lists for a charge, booked once each (payment first if missed)."""
    if not payment_intent_id:
        return
    payment = ensure_payment_recorded(payment_intent_id, tx)
    if payment is None:
        return
    for refund in gateway.list_refunds(charge_id):
        ledger_writes.record_refund(refund, payment, tx)


def on_charge_refunded(event: dict, tx: Transaction) -> None:
    charge = event["data"]["object"]
    book_refunds(lookups.id_of(charge.get("payment_intent")), charge["id"], tx)


def on_refund_event(event: dict, tx: Transaction) -> None:
    refund = event["data"]["object"]
    charge_id = lookups.id_of(refund["charge"])
    book_refunds(lookups.id_of(refund.get("payment_intent")), charge_id, tx)


def on_dispute_event(event: dict, tx: Transaction) -> None:
    dispute = event["data"]["object"]
    payment_intent_id = lookups.id_of(dispute.get("payment_intent"))
    if not payment_intent_id:
        charge = gateway.retrieve_charge(lookups.id_of(dispute["charge"]))
        payment_intent_id = lookups.id_of(charge.get("payment_intent"))
    payment = ensure_payment_recorded(payment_intent_id, tx) if payment_intent_id else None
    if payment is not None:
        ledger_writes.record_dispute_step(dispute, payment, tx)


def on_checkout_expired(event: dict, tx: Transaction) -> None:
    apply_checkout_session(event["data"]["object"], tx)


def on_payment_failed(event: dict, tx: Transaction) -> None:
    """A declined card: nothing to book, but the card-testing defence counts recent ones."""
    if int(event.get("created") or 0) >= time.time() - RECENT_DECLINE_SECONDS:
        payment_intent = event["data"]["object"]
        metadata = payment_intent.get("metadata") or {}
        tx.announce(
            "payment_declined",
            payment_intent_id=payment_intent["id"],
            donation_intent=metadata.get("donation_intent"),
        )


Handler = Callable[[dict, Transaction], None]

HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.async_payment_succeeded": on_checkout_completed,
    "checkout.session.async_payment_failed": on_checkout_async_failed,
    "checkout.session.expired": on_checkout_expired,
    "payment_intent.succeeded": on_payment_intent_succeeded,
    "payment_intent.payment_failed": on_payment_failed,
    "invoice.paid": on_invoice_paid,
    # invoice.payment_succeeded repeats invoice.paid for every paid invoice: left unhandled,
    # it is recorded and acknowledged without a second round of Stripe calls.
    "invoice.payment_failed": on_invoice_payment_failed,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "customer.subscription.paused": on_subscription_event,
    "customer.subscription.resumed": on_subscription_event,
    "charge.refunded": on_charge_refunded,
    "refund.created": on_refund_event,
    "refund.updated": on_refund_event,
    "refund.failed": on_refund_event,
    "charge.dispute.created": on_dispute_event,
    "charge.dispute.closed": on_dispute_event,
}


#: Events whose payload alone shows that applying them changes nothing (their handler would
#: return at once): recorded as applied when they arrive, no worker woken for them.
NOTHING_TO_APPLY: dict[str, Callable[[dict], bool]] = {
    "payment_intent.succeeded": lambda event: not _donation_intent_named(event),
}


def needs_applying(event: dict) -> bool:
    """Whether applying the event could change anything: a type we handle, whose payload
    doesn't show it to be a no-op (a month-start renewal's payment_intent.succeeded)."""
    nothing = NOTHING_TO_APPLY.get(event["type"])
    return event["type"] in HANDLERS and not (nothing and nothing(event))


def process_event(event: dict, tx: Transaction, source: str = "webhook") -> Outcome:
    """Record the event id once and apply it, in the caller's unit of work (ledger.change)."""
    # ON CONFLICT DO NOTHING: a redelivery (or its twin on another worker, which waits for
    # this transaction) inserts nothing and so does nothing.
    if not _record(event, source, applied=True):
        return Outcome(duplicate=True, handled=False)
    return Outcome(duplicate=False, handled=_apply(event, tx))


def record_alone(event: dict, applied: bool, payload_json: str | None = None) -> bool:
    """Record the event in one autocommitted statement, outside any unit of work (True the
    first time): applied when there is nothing to apply, else waiting (with its payload) for
    a worker (payments.event_queue), committed before the webhook acknowledges it, so an
    acknowledged event is never lost. Money and pledges are not touched, so there is no
    transaction to own: one round trip instead of a session's BEGIN, INSERT and COMMIT.

    `payload_json` is the event as JSON text when the caller holds it already (the webhook's
    verified body, which event_payloads.check found storable): stored as it is rather than
    written out again."""
    values = _event_row(event, "webhook", applied)
    if applied:
        values["payload"] = "null"  # as the JSON column stores None
    elif payload_json is None:
        values["payload"] = json.dumps(event)  # as the JSON column would write it
    else:
        values["payload"] = payload_json
    if db.engine.dialect.name == "postgresql":
        return autocommitted_row(_RECORD_ON_POSTGRESQL, values) is not None
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(_RECORD_ON_SQLITE, values).scalar() is not None


_EVENT_COLUMNS = ("id", "type", "stripe_created", "source", "received_at", "applied_at")
#: INSERT … ON CONFLICT DO NOTHING RETURNING id: a row the first time, none for a repeat.
#: The payload is JSON text: cast to json on PostgreSQL (run by the driver itself, see
#: database.autocommitted_row); SQLite keeps JSON as text anyway, and a CAST there to a
#: type name it doesn't know would turn the text into a number.
_RECORD_ON_POSTGRESQL = (
    "INSERT INTO stripe_events"
    " (id, type, stripe_created, source, received_at, applied_at, payload)"
    " VALUES (%(id)s, %(type)s, %(stripe_created)s, %(source)s, %(received_at)s,"
    " %(applied_at)s, %(payload)s::json)"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)
_RECORD_ON_SQLITE = (
    sqlite.insert(StripeEvent)
    .values({name: bindparam(name) for name in _EVENT_COLUMNS})
    .values(payload=bindparam("payload", type_=Text))
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(StripeEvent.id)
)


def apply_received_event(event_id: str, tx: Transaction, skip_locked: bool = False) -> Outcome:
    """Apply a received event once: its row is locked, and a second caller finds it applied
    (or, with skip_locked, passes it by while another holds it). In the caller's unit of
    work (ledger.change, as `stripe:<event id>`)."""
    event = _take_payload(event_id, skip_locked)
    if event is None:
        return Outcome(duplicate=True, handled=False)
    return Outcome(duplicate=False, handled=_apply(event, tx))


def _take_payload(event_id: str, skip_locked: bool) -> dict | None:
    """Mark a received event applied, its payload dropped, and return that payload; None if
    it was applied already (or, with skip_locked, another transaction holds it)."""
    params = {"event_id": event_id, "now": utcnow()}
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return connection.execute(_take_statement(skip_locked), params).scalar()
    payload = connection.execute(_WAITING_PAYLOAD, params).scalar()
    if payload is None or not connection.execute(_MARK_APPLIED, params).rowcount:
        return None
    return payload


_WAITING_PAYLOAD = select(StripeEvent.payload).where(
    StripeEvent.id == bindparam("event_id"),
    StripeEvent.applied_at.is_(None),
    StripeEvent.payload.is_not(None),
)
_MARK_APPLIED = (
    update(StripeEvent)
    .where(StripeEvent.id == bindparam("event_id"), StripeEvent.applied_at.is_(None))
    .values(applied_at=bindparam("now"), payload=null())
)


@functools.cache
def _take_statement(skip_locked: bool):
    """PostgreSQL's one statement: lock the waiting row, mark it applied, return its payload
    as it was."""
    waiting = _WAITING_PAYLOAD.add_columns(StripeEvent.id).with_for_update(skip_locked=skip_locked)
    waiting = waiting.cte("waiting")
    return (
        update(StripeEvent)
        .where(StripeEvent.id == waiting.c.id)
        .values(applied_at=bindparam("now"), payload=null())
        .returning(waiting.c.payload)
    )


def _record(event: dict, source: str, applied: bool) -> bool:
    return insert_if_absent(StripeEvent, _event_row(event, source, applied), ["id"])


def _event_row(event: dict, source: str, applied: bool) -> dict:
    now = utcnow()
    return {
        "id": event["id"],
        "type": event["type"],
        "stripe_created": int(event.get("created") or 0),
        "source": source,
        "received_at": now,
        "applied_at": now if applied else None,
        "payload": None if applied else event,
    }


def _apply(event: dict, tx: Transaction) -> bool:
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return False
    handler(event, tx)
    return True
