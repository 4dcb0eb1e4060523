"""POST /stripe/webhook: verify, record the event once, dispatch, commit; 500 makes Stripe retry."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import DataError, OperationalError

from fundraiser.database import is_outage, retrying
from fundraiser.extensions import csrf, db, limiter
from fundraiser.models import WebhookFailure
from fundraiser.observability import record_webhook, webhook_outcome
from fundraiser.payments import events, gateway

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

    def apply_and_commit():
        result = events.process_event(event)
        db.session.commit()
        return result

    try:
        outcome = retrying(apply_and_commit)
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, MALFORMED_EVENT_ERRORS):
            log.exception("malformed %s event %s refused", event["type"], event["id"])
            record_webhook(event, "rejected")
            return jsonify(error="invalid webhook", reason="The event doesn't fit its type."), 400
        record_webhook(event, "failed")
        if isinstance(exc, OperationalError) and is_outage(exc):
            raise  # the error handler answers 503; Stripe retries
        log.exception("webhook handler failed for %s %s", event["type"], event["id"])
        _remember_failure(event, exc)
        return jsonify(error="handler failed", reason="will be retried"), 500
    record_webhook(event, webhook_outcome(outcome))
    return jsonify(received=True, duplicate=outcome.duplicate, handled=outcome.handled)


def _remember_failure(event: dict, error: Exception) -> None:
    """Keep the failed delivery for the drift report (best effort, in its own transaction)."""
    try:
        db.session.add(
            WebhookFailure(event_id=event["id"], event_type=event["type"], error=repr(error)[:2000])
        )
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be the thing that failed
        db.session.rollback()
