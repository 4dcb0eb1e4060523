"""POST /stripe/webhook: verify, check, record the event once, dispatch, commit; a 500
makes Stripe retry."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import OperationalError

from fundraiser.database import is_outage
from fundraiser.extensions import csrf, db, limiter
from fundraiser.observability import record_webhook, webhook_outcome
from fundraiser.payments import event_payloads, event_queue, events, gateway, ledger

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__)


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    """Receive one Stripe event.

    400 only for a payload that doesn't fit its event type (event_payloads, checked before
    anything is stored, or an id in it that Stripe doesn't know): Stripe never sends one and
    nothing is stored. Any other error, raised by our own code or by an object re-fetched
    from Stripe, is a 500, kept for the drift report, and Stripe retries."""
    body = request.get_data(cache=False)
    try:
        event = gateway.verify_webhook(body, request.headers.get("Stripe-Signature"))
    except gateway.InvalidWebhook as exc:
        record_webhook(None, "rejected")
        return jsonify(error="invalid webhook", reason=str(exc)), 400
    try:
        event_payloads.check(event)
    except event_payloads.MalformedEvent as exc:
        return _refused(event, f"The event doesn't fit its type: {exc}.")

    queue = event_queue.enabled()
    try:
        outcome = _record_for_worker(event, body.decode()) if queue else _apply_inline(event)
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, gateway.ObjectNotFound) and _names(event, exc.object_ids):
            return _refused(event, "The event names an object Stripe doesn't have.")
        record_webhook(event, "failed", events.HANDLERS)
        if isinstance(exc, OperationalError) and is_outage(exc):
            raise  # the error handler answers 503; Stripe retries
        log.exception("webhook handler failed for %s %s", event["type"], event["id"])
        event_queue.remember_failure(event["id"], exc, event["type"])
        return jsonify(error="handler failed", reason="will be retried"), 500
    record_webhook(event, webhook_outcome(outcome), events.HANDLERS)
    return jsonify(
        received=True, duplicate=outcome.duplicate, handled=outcome.handled, queued=outcome.queued
    )


def _refused(event: dict, reason: str):
    log.warning("%s event %s refused: %s", event["type"], event["id"], reason)
    record_webhook(event, "rejected", events.HANDLERS)
    return jsonify(error="invalid webhook", reason=reason), 400


def _names(event: dict, object_ids: tuple[str, ...]) -> bool:
    """Whether the event's own object carries one of these ids anywhere (a 404 for an id
    that only a re-fetched object led us to is Stripe's drift: a 500)."""
    wanted = set(object_ids)
    pending = [event["data"]["object"]]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and value in wanted:
            return True
    return False


def _apply_inline(event: dict) -> events.Outcome:
    return ledger.change(f"stripe:{event['id']}", lambda tx: events.process_event(event, tx))


def _record_for_worker(event: dict, body: str) -> events.Outcome:
    """Record the event (committed; its verified body is the payload a worker reads), then
    wake the workers; if Redis can't be reached, apply it now. An event with nothing to
    apply (a type we don't handle, or a payload that shows its handler would do nothing:
    events.NOTHING_TO_APPLY) is recorded as applied, and nobody is woken."""
    handled = event["type"] in events.HANDLERS
    waits = events.needs_applying(event)
    if not events.record_alone(event, applied=not waits, payload_json=body):
        return events.Outcome(duplicate=True, handled=False)
    if not waits:  # its handler, if any, would do nothing
        return events.Outcome(duplicate=False, handled=handled)
    if event_queue.wake_appliers():
        return events.Outcome(duplicate=False, handled=False, queued=True)
    return event_queue.apply_now(event["id"])
