"""POST /stripe/webhook: verify, record the event once, dispatch, commit; 500 makes Stripe retry."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import OperationalError

from fundraiser.database import is_outage
from fundraiser.extensions import csrf, db, limiter
from fundraiser.models import WebhookFailure
from fundraiser.observability import record_webhook, webhook_outcome
from fundraiser.payments import events, gateway

log = logging.getLogger(__name__)
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
    try:
        outcome = events.process_event(event)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
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
