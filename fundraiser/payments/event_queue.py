"""Stripe events acknowledged at once and applied by RQ workers (WEBHOOK_APPLY=queue).

At month start every pledge renews within minutes and Stripe delivers each renewal's events
at once. Applying one means Stripe calls and a dozen statements; recording one is a single
INSERT. So with Redis configured the webhook records the verified event (payload included),
commits, wakes the appliers and answers 200; workers on any host then apply events as fast
as they can.

The table is the queue, not Redis: an RQ job costs ~3.5 ms of CPU and ~10 ms of round trips
of its own, more than many events take to apply, so a job drains every waiting event rather
than one. A request queues a drain only when none is due (a Redis flag set with NX, cleared
by the drain before each look at the table, so an event committed meanwhile is either seen
by that look or queues a drain of its own). Several drains share the work row by row
(FOR UPDATE SKIP LOCKED). Nothing acknowledged can be lost: the row is committed before the
answer, the flag expires if its job is lost, and reconcile applies anything left waiting.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import select

from fundraiser import jobs
from fundraiser.extensions import db
from fundraiser.models import StripeEvent, WebhookFailure, utcnow
from fundraiser.payments import events, ledger

log = logging.getLogger(__name__)
#: A received event this old with no worker done with it is applied by reconcile instead.
PENDING_GRACE = timedelta(minutes=1)
#: A queued drain's flag lapses after this, in case its job was lost with Redis.
DRAIN_FLAG_SECONDS = 30
#: Events looked up per query by a drain.
DRAIN_BATCH = 200


def enabled() -> bool:
    """WEBHOOK_APPLY, "queue" by default when Redis is configured."""
    config = current_app.config
    mode = config.get("WEBHOOK_APPLY") or ("queue" if config.get("REDIS_URL") else "inline")
    return mode == "queue"


def _flag_key() -> str:
    return current_app.config.get("RQ_QUEUE", "fundraiser") + ":events-drain-due"


def wake_appliers() -> bool:
    """Make sure a drain is queued (one Redis SET when one already is); False when Redis can't
    be reached, so the caller applies the event itself."""
    try:
        connection = jobs.redis_connection(current_app.config["REDIS_URL"])
        if not connection.set(_flag_key(), "1", nx=True, ex=DRAIN_FLAG_SECONDS):
            return True
    except RedisError as exc:
        log.warning("job queue unavailable (%s); applying inline", exc.__class__.__name__)
        return False
    if jobs.enqueue_call(drain_job):
        return True
    with contextlib.suppress(RedisError):  # or the flag would hold back the next events' drain
        connection.delete(_flag_key())
    return False


class EventsNotApplied(RuntimeError):
    """Some events failed (they are in the drift report); RQ runs the drain again later."""


def drain_job() -> None:
    """The RQ job: apply waiting events until none is left."""
    with jobs.job_app().app_context():
        _applied, failed = drain()
    if failed:
        raise EventsNotApplied(f"{failed} event(s) could not be applied")


def drain(batch_size: int = DRAIN_BATCH) -> tuple[int, int]:
    """Apply every waiting event, oldest first, each in its own transaction: (applied, failed).
    An event that fails is tried once per drain. Facing a full batch, a drain queues one more
    drain, which may queue another: a backlog spreads over the workers that are free."""
    applied, failed, helped = 0, set(), False
    while True:
        jobs.redis_connection(current_app.config["REDIS_URL"]).delete(_flag_key())
        waiting = _waiting(batch_size, skip=failed)
        if not waiting:
            return applied, len(failed)
        if len(waiting) == batch_size and not helped:
            helped = wake_appliers()  # a backlog: another worker can share it (SKIP LOCKED)
        applied += _apply_each(waiting, failed, skip_locked=True)


def _waiting(limit: int, received_before=None, skip: set[str] = frozenset()) -> list[str]:
    query = select(StripeEvent.id).where(StripeEvent.applied_at.is_(None))
    if received_before is not None:
        query = query.where(StripeEvent.received_at < received_before)
    if skip:
        query = query.where(StripeEvent.id.not_in(skip))
    ids = db.session.scalars(
        query.order_by(StripeEvent.stripe_created, StripeEvent.id).limit(limit)
    ).all()
    db.session.rollback()
    return list(ids)


def apply_now(event_id: str, skip_locked: bool = False) -> events.Outcome:
    """Apply a received event in a unit of work of its own (committed, then its effects)."""
    return ledger.change(
        f"stripe:{event_id}", lambda tx: events.apply_received_event(event_id, tx, skip_locked)
    )


def apply_pending(grace: timedelta = PENDING_GRACE) -> tuple[int, int]:
    """Apply every event received over `grace` ago and not applied: (applied, failed)."""
    failed: set[str] = set()
    applied = _apply_each(_waiting(100_000, received_before=utcnow() - grace), failed)
    return applied, len(failed)


def _apply_each(event_ids: list[str], failed: set[str], skip_locked: bool = False) -> int:
    """Apply each event in its own transaction; the ids that fail are added to `failed` (and
    kept for the drift report) and the rest go on. Returns how many were applied."""
    applied = 0
    for event_id in event_ids:
        try:
            apply_now(event_id, skip_locked)
            applied += 1
        except Exception as exc:  # noqa: BLE001 - kept for the drift report; on with the rest
            log.exception("event %s could not be applied", event_id)
            remember_failure(event_id, exc)
            failed.add(event_id)
    return applied


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
