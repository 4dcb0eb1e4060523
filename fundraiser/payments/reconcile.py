"""Reconcile our books with Stripe: apply whatever the webhooks missed, through the same handlers.

Safe at any time and repeatedly: every write is the same idempotent upsert the webhook uses.
Events are replayed first; then, because Stripe keeps events for 30 days only, the objects
themselves (checkout sessions, paid invoices, charges and refunds, subscriptions) are swept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Pledge, ReconcileRun, StripeEvent, utcnow
from fundraiser.payments import (
    event_queue,
    events,
    fees,
    gateway,
    ledger,
    ledger_writes,
    lookups,
    pledge_mirror,
)
from fundraiser.payments.ledger import Transaction

log = logging.getLogger(__name__)
ACTOR = "system:reconcile"


@dataclass
class ReconcileReport:
    events_seen: int = 0
    events_applied: int = 0
    objects_checked: int = 0
    objects_fixed: int = 0
    failures: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failures == 0


def _attempt(
    report: ReconcileReport, label: str, work: Callable[[Transaction], None], actor: str = ACTOR
) -> bool:
    """Run one unit of repair as a change of its own; a failure is counted, not fatal.
    Returns whether the books changed."""

    def run(tx: Transaction) -> bool:
        work(tx)
        return tx.wrote

    try:
        return ledger.change(actor, run)
    except Exception as exc:  # noqa: BLE001 - report and go on with the next object
        report.failures += 1
        report.problems.append(f"{label}: {_reason(exc)}")
        log.warning("reconcile failed on %s: %s", label, exc)
        return False


def _reason(error: Exception) -> str:
    """Stripe's own words for a refusal, else the error as Python says it."""
    return str(getattr(error, "user_message", None) or error)


def _known_event_ids(ids: list[str]) -> set[str]:
    return set(db.session.scalars(select(StripeEvent.id).where(StripeEvent.id.in_(ids))))


def replay_events(since: int | None, report: ReconcileReport, tick: Callable[[], None]) -> None:
    batch: list[dict] = []
    for event in gateway.iter_events(since):
        batch.append(event)
        if len(batch) == 100:
            _replay_batch(batch, report, tick)
            batch = []
    _replay_batch(batch, report, tick)


def _replay_batch(batch: list[dict], report: ReconcileReport, tick: Callable[[], None]) -> None:
    known = _known_event_ids([event["id"] for event in batch]) if batch else set()
    # Oldest first, as they happened; handlers re-fetch state, so order is not critical.
    for event in reversed(batch):
        report.events_seen += 1
        tick()
        if event["id"] in known:
            continue
        outcome: list[events.Outcome] = []

        def apply(tx: Transaction, event=event, outcome=outcome) -> None:
            outcome.append(events.process_event(event, tx, source="reconcile"))

        _attempt(report, event["id"], apply, actor=f"stripe:{event['id']}")
        if outcome and not outcome[0].duplicate:
            report.events_applied += 1


def _ours(obj: dict) -> bool:
    metadata = obj.get("metadata") or {}
    return bool(metadata.get("donation_intent") or metadata.get("campaign"))


def _sweep(
    report: ReconcileReport,
    objects: Iterable[dict],
    needs_work: Callable[[dict], bool],
    repair: Callable[[dict, Transaction], None],
    tick: Callable[[], None],
) -> None:
    for obj in objects:
        report.objects_checked += 1
        tick()
        if needs_work(obj) and _attempt(report, obj["id"], lambda e, o=obj: repair(o, e)):
            report.objects_fixed += 1


def _session_needs_work(session: dict) -> bool:
    if not _ours(session) or session.get("status") != "complete":
        return False
    if session.get("mode") == "payment":
        return (
            ledger_writes.payment_entry(lookups.id_of(session.get("payment_intent")) or "") is None
        )
    invoice_id = lookups.id_of(session.get("invoice"))
    recorded = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.invoice_id == invoice_id))
    return recorded is None


def _invoice_needs_work(invoice: dict) -> bool:
    subscription_id, metadata = events.invoice_subscription(invoice)
    if not subscription_id or not (metadata.get("campaign") or metadata.get("donation_intent")):
        return False
    recorded = db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.invoice_id == invoice["id"])
    )
    return recorded is None and (invoice.get("amount_paid") or 0) > 0


def _charge_needs_work(charge: dict) -> bool:
    payment_intent_id = lookups.id_of(charge.get("payment_intent"))
    if not payment_intent_id or charge.get("status") != "succeeded":
        return False
    entry = ledger_writes.payment_entry(payment_intent_id)
    if entry is None:
        return _ours(charge) or bool(charge.get("amount_refunded"))
    if entry.settled_amount_minor is None:
        return True
    return ledger_writes.refunded_so_far(payment_intent_id) != int(
        charge.get("amount_refunded") or 0
    )


def _repair_charge(charge: dict, tx: Transaction) -> None:
    payment_intent_id = lookups.id_of(charge["payment_intent"])
    entry = ledger_writes.payment_entry(payment_intent_id)
    if entry is not None and entry.settled_amount_minor is None:
        fees.fill_fee(entry.id, tx)
    if charge.get("amount_refunded"):
        events.book_refunds(payment_intent_id, charge["id"], tx)
    else:
        events.ensure_payment_recorded(payment_intent_id, tx)


def _subscription_needs_work(subscription: dict) -> bool:
    if not _ours(subscription):
        return False
    pledge = db.session.scalar(
        select(Pledge).where(Pledge.stripe_subscription_id == subscription["id"])
    )
    return pledge is None or pledge.status != pledge_mirror.pledge_status(subscription).value


def reconcile(since: int | None = None, tick: Callable[[], None] = lambda: None) -> ReconcileReport:
    """Apply everything Stripe knows and our books miss; returns what was found and fixed."""
    run = ReconcileRun(since=since)
    db.session.add(run)
    db.session.commit()
    report = ReconcileReport()
    applied, failed = event_queue.apply_pending()
    report.events_applied += applied
    report.failures += failed
    try:
        replay_events(since, report, tick)
        _sweep(
            report,
            gateway.iter_checkout_sessions(since),
            _session_needs_work,
            events.apply_checkout_session,
            tick,
        )
        _sweep(
            report,
            gateway.iter_paid_invoices(since),
            _invoice_needs_work,
            events.record_invoice_payment,
            tick,
        )
        _sweep(report, gateway.iter_charges(since), _charge_needs_work, _repair_charge, tick)
        _sweep(report, gateway.iter_subscriptions(since), _subscription_needs_work,
               pledge_mirror.sync_pledge, tick)  # fmt: skip
    except gateway.PaymentsUnavailable as exc:
        report.failures += 1
        report.problems.append(f"Stripe unavailable: {exc}")
    except gateway.PaymentRefused as exc:  # a 4xx: say Stripe's reason, never stay "running"
        report.failures += 1
        report.problems.append(f"Stripe refused: {exc}")
    except Exception as exc:
        report.failures += 1
        report.problems.append(f"reconcile stopped: {exc!r}")
        _finish(run, report)
        raise
    _finish(run, report)
    return report


def _finish(run: ReconcileRun, report: ReconcileReport) -> None:
    run = db.session.merge(run)
    run.finished_at = utcnow()
    run.events_seen = report.events_seen
    run.events_applied = report.events_applied
    run.objects_fixed = report.objects_fixed
    run.failures = report.failures
    run.status = "ok" if report.ok else "failed"
    run.detail = json.dumps(report.problems[:50])
    db.session.commit()
    _count_result(run.status)


def _count_result(status: str) -> None:
    try:
        from fundraiser.observability import RECONCILE_RESULTS
    except ImportError:
        return
    RECONCILE_RESULTS.labels(result=status).inc()
