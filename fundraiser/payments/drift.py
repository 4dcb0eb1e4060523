"""The drift report: where Stripe and our books disagree, read-only, for the staff dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import (
    Channel,
    ChannelNotice,
    EntryKind,
    LedgerEntry,
    Pledge,
    ReconcileRun,
    StripeEvent,
    WebhookFailure,
    utcnow,
)
from fundraiser.payments import (
    channel_notices,
    events,
    gateway,
    ledger_writes,
    lookups,
    pledge_mirror,
)


@dataclass
class DriftReport:
    since_days: int
    #: Succeeded charges of ours at Stripe with no payment row in the ledger.
    missing_in_ledger: list[dict] = field(default_factory=list)
    #: Ledger payments in the window whose payment intent Stripe's charge list doesn't show.
    missing_at_stripe: list[LedgerEntry] = field(default_factory=list)
    #: (pledge, Stripe's status) where they differ.
    status_mismatches: list[tuple[Pledge, str]] = field(default_factory=list)
    failed_webhooks: list[WebhookFailure] = field(default_factory=list)
    #: Events received and not yet applied by a worker (WEBHOOK_APPLY=queue), and the oldest.
    pending_events: int = 0
    oldest_pending_at: datetime | None = None
    last_reconcile: ReconcileRun | None = None
    last_successful_reconcile: ReconcileRun | None = None
    stripe_error: str | None = None
    #: IPN messages not counted (not VERIFIED, another receiver, unreadable), newest first.
    refused_ipns: list[ChannelNotice] = field(default_factory=list)
    #: PayPal ledger rows (booked from the activity CSV) that no verified IPN announced.
    paypal_without_ipn: list[LedgerEntry] = field(default_factory=list)
    #: (pledge, Patreon's lifetime support, our ledger's sum) where they differ.
    patreon_out_of_step: list[tuple[Pledge, int, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing_in_ledger or self.missing_at_stripe or self.status_mismatches)

    @property
    def channels_clean(self) -> bool:
        """PayPal and Patreon agree with our books (the Stripe comparison is `clean`)."""
        return not (self.refused_ipns or self.paypal_without_ipn or self.patreon_out_of_step)


def _ours(charge: dict) -> bool:
    """A charge for one of our gifts: our metadata, or an invoice of one of our pledges."""
    metadata = charge.get("metadata") or {}
    if metadata.get("donation_intent") or metadata.get("campaign"):
        return True
    invoice = gateway.invoice_for_payment_intent(lookups.id_of(charge["payment_intent"]))
    if invoice is None:
        return False
    _subscription, invoice_metadata = events.invoice_subscription(invoice)
    return bool(invoice_metadata.get("campaign") or invoice_metadata.get("donation_intent"))


def drift_report(since_days: int = 30) -> DriftReport:
    """Compare the last `since_days` of Stripe's charges and subscriptions with our books."""
    report = DriftReport(since_days)
    start = utcnow() - timedelta(days=since_days)
    report.failed_webhooks = list(
        db.session.scalars(
            select(WebhookFailure).where(WebhookFailure.failed_at >= start)
            .order_by(WebhookFailure.failed_at.desc()).limit(100)
        )
    )  # fmt: skip
    report.pending_events, report.oldest_pending_at = db.session.execute(
        select(func.count(), func.min(StripeEvent.received_at)).where(
            StripeEvent.applied_at.is_(None)
        )
    ).one()
    runs = select(ReconcileRun).order_by(ReconcileRun.started_at.desc()).limit(1)
    report.last_reconcile = db.session.scalar(runs)
    report.last_successful_reconcile = db.session.scalar(runs.where(ReconcileRun.status == "ok"))
    report.refused_ipns = channel_notices.refused_since(start)
    report.paypal_without_ipn = channel_notices.paypal_rows_without_ipn(start)
    report.patreon_out_of_step = patreon_out_of_step()
    try:
        _compare_payments(report, int(start.timestamp()))
        _compare_pledges(report, int(start.timestamp()))
    except gateway.PaymentsUnavailable as exc:
        report.stripe_error = str(exc)
    return report


def _compare_payments(report: DriftReport, since: int) -> None:
    seen_at_stripe: set[str] = set()
    for charge in gateway.iter_charges(since):
        payment_intent_id = lookups.id_of(charge.get("payment_intent"))
        if charge.get("status") != "succeeded" or not payment_intent_id:
            continue
        seen_at_stripe.add(payment_intent_id)
        if ledger_writes.payment_entry(payment_intent_id) is None and _ours(charge):
            report.missing_in_ledger.append(charge)
    ours = db.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.kind == EntryKind.PAYMENT.value,
            LedgerEntry.occurred_at >= lookups.from_unix(since),
        )
    )
    report.missing_at_stripe = [row for row in ours if row.payment_ref not in seen_at_stripe]


def _compare_pledges(report: DriftReport, since: int) -> None:
    pledges = {
        pledge.stripe_subscription_id: pledge for pledge in db.session.scalars(select(Pledge))
    }
    for subscription in gateway.iter_subscriptions():
        pledge = pledges.get(subscription["id"])
        if pledge is not None and pledge.status != pledge_mirror.pledge_status(subscription).value:
            report.status_mismatches.append((pledge, subscription["status"]))


def patreon_out_of_step(limit: int = 200) -> list[tuple[Pledge, int, int]]:
    """Patrons whose lifetime support at Patreon (as last reported by a webhook, the sync or
    the members export) differs from the sum of their rows in our ledger."""
    patreon = Channel.PATREON.value
    sums = (
        select(LedgerEntry.pledge_id, func.sum(LedgerEntry.amount_minor).label("total"))
        .where(LedgerEntry.channel == patreon, LedgerEntry.pledge_id.is_not(None))
        .group_by(LedgerEntry.pledge_id)
        .subquery()
    )
    ours = func.coalesce(sums.c.total, 0)
    rows = db.session.execute(
        select(Pledge, ours)
        .outerjoin(sums, sums.c.pledge_id == Pledge.id)
        .where(
            Pledge.channel == patreon,
            Pledge.reported_lifetime_minor.is_not(None),
            Pledge.reported_lifetime_minor != ours,
        )
        .order_by(Pledge.id)
        .limit(limit)
    ).all()
    return [(pledge, pledge.reported_lifetime_minor, int(total)) for pledge, total in rows]
