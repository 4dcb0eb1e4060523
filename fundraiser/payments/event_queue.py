"""Stripe events acknowledged at once and applied by an RQ worker (WEBHOOK_APPLY=queue).

At month start every pledge renews within minutes and Stripe delivers each renewal's events
at once. Applying one means Stripe calls and a dozen statements; recording one is a single
INSERT. So with Redis configured the webhook records the verified event (payload included),
commits, queues its id and answers 200, and workers on any host apply events as fast as they
can. Nothing acknowledged can be lost: the event row is committed before the answer, and
events whose job vanished (Redis restarted) are applied by `apply_pending`, which reconcile
runs. Applying is idempotent (the row is locked and marked applied in the same transaction).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from fundraiser import jobs
from fundraiser.database import retrying
from fundraiser.extensions import db
from fundraiser.models import StripeEvent, WebhookFailure, utcnow
from fundraiser.payments import announcements, events

log = logging.getLogger(__name__)
#: A received event this old with no worker done with it is applied by reconcile instead.
PENDING_GRACE = timedelta(minutes=1)


def enabled() -> bool:
    """WEBHOOK_APPLY, "queue" by default when Redis is configured."""
    config = current_app.config
    mode = config.get("WEBHOOK_APPLY") or ("queue" if config.get("REDIS_URL") else "inline")
    return mode == "queue"


def enqueue(event_id: str) -> bool:
    """Queue the event for a worker; False when Redis can't be reached."""
    return jobs.enqueue_call(apply_event_job, event_id)


def apply_event_job(event_id: str) -> None:
    """The RQ job: apply one received event; a failure is recorded and RQ tries again."""
    with jobs.job_app().app_context():
        try:
            apply_now(event_id)
        except Exception as exc:
            remember_failure(event_id, exc)
            raise


def apply_now(event_id: str) -> events.Outcome:
    """Apply a received event and commit, then announce what changed."""

    def apply_and_commit():
        outcome = events.apply_received_event(event_id)
        db.session.commit()
        return outcome

    try:
        outcome = retrying(apply_and_commit)
    except Exception:
        db.session.rollback()
        raise
    announcements.announce_committed()
    return outcome


def apply_pending(grace: timedelta = PENDING_GRACE) -> tuple[int, int]:
    """Apply every event received over `grace` ago and not applied: (applied, failed)."""
    cutoff = utcnow() - grace
    pending = db.session.scalars(
        select(StripeEvent.id)
        .where(StripeEvent.applied_at.is_(None), StripeEvent.received_at < cutoff)
        .order_by(StripeEvent.stripe_created, StripeEvent.id)
    ).all()
    db.session.rollback()
    applied = failed = 0
    for event_id in pending:
        try:
            apply_now(event_id)
            applied += 1
        except Exception as exc:  # noqa: BLE001 - kept for the drift report; on with the rest
            log.exception("pending event %s could not be applied", event_id)
            remember_failure(event_id, exc)
            failed += 1
    return applied, failed


def remember_failure(event_id: str, error: Exception, event_type: str | None = None) -> None:
    """Keep a failed event for the drift report (best effort, in its own transaction)."""
    try:
        if event_type is None:
            event_type = db.session.scalar(
                select(StripeEvent.type).where(StripeEvent.id == event_id)
            )
        failure = WebhookFailure(
            event_id=event_id, event_type=event_type or "unknown", error=repr(error)[:2000]
        )
        db.session.add(failure)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database may be the thing that failed
        db.session.rollback()
