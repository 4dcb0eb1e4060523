"""POST /stripe/webhook: verify, record the event once, dispatch, commit; 500 makes Stripe retry."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import DataError, OperationalError

from fundraiser.database import is_outage, retrying
from fundraiser.extensions import csrf, db, limiter
from fundraiser.observability import record_webhook, webhook_outcome
from fundraiser.payments import event_queue, events, gateway, ledger

log = logging.getLogger(__name__)
# What handlers raise on a signed event whose payload isn't shaped as its type promises, or
# that names objects Stripe doesn't know (gateway.PaymentRefused is a ValueError). Stripe never
# sends one, so it is a bad request: 400, nothing stored. Our own failures (database, Stripe
# unreachable) stay 500s, kept for the drift report and retried.
MALFORMED_EVENT_ERRORS = (
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    ValueError,  # also bad Unicode (lone surrogates) in ids, and gateway.PaymentRefused
    OverflowError,  # a "created" or amount beyond what SQLite stores
    DataError,  # PostgreSQL: NUL bytes, numbers out of range
)
bp = Blueprint("payments", __name__)


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    """Receive one Stripe event."""
    try:
        event = gateway.verify_webhook(
            request.get_data(cache=False), request.headers.get("Stripe-Signature")
        )
    except gateway.InvalidWebhook as exc:
        record_webhook(None, "rejected")
        return jsonify(error="invalid webhook", reason=str(exc)), 400

    receive = _record_for_worker if event_queue.enabled() else _apply_inline
    try:
        outcome = receive(event)
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, MALFORMED_EVENT_ERRORS):
            log.exception("malformed %s event %s refused", event["type"], event["id"])
            record_webhook(event, "rejected", events.HANDLERS)
            return jsonify(error="invalid webhook", reason="The event doesn't fit its type."), 400
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


def _apply_inline(event: dict) -> events.Outcome:
    return ledger.change(f"stripe:{event['id']}", lambda tx: events.process_event(event, tx))


def _record_for_worker(event: dict) -> events.Outcome:
    """Commit the event, then wake the workers; if Redis can't be reached, apply it now."""
    if event["type"] not in events.HANDLERS:
        return _apply_inline(event)  # nothing to do but record it

    def record_and_commit():
        first_time = events.receive_event(event)
        db.session.commit()
        return first_time

    if not retrying(record_and_commit):
        return events.Outcome(duplicate=True, handled=False)
    if event_queue.wake_appliers():
        return events.Outcome(duplicate=False, handled=False, queued=True)
    return event_queue.apply_now(event["id"])
