"""What staff do to money: refunds and pledge cancellations, through the payments package."""

from __future__ import annotations

import logging
from datetime import timedelta

from fundraiser.dashboard import audit
from fundraiser.dashboard.donations import REFUND_REQUESTED, DonationDetail, refund_target
from fundraiser.models import Pledge, Supporter, utcnow
from fundraiser.money import AmountError, format_money, parse_amount
from fundraiser.payments import pledges, refunds
from fundraiser.payments.errors import NotAllowed
from fundraiser.payments.gateway import PaymentRefused, PaymentsUnavailable
from fundraiser.payments.pledge_policy import CANCELLABLE, kept_elsewhere
from fundraiser.payments.reconcile import ReconcileReport, reconcile

log = logging.getLogger(__name__)

UNAVAILABLE = "Stripe isn't answering right now; nothing was changed. Please try again shortly."


class ActionError(Exception):
    """An action that was not carried out; the message is shown to the staff member."""


def refund_amount(detail: DonationDetail, amount_text: str) -> int:
    """The amount to refund in minor units, checked against what is still refundable."""
    currency = detail.payment.currency
    if (detail.payment.channel or "stripe") != "stripe":
        raise ActionError(
            "Only Stripe payments are refunded from here: refund at PayPal or Patreon (the"
            " refund then arrives by itself); reverse an offline gift on the Channels page."
        )
    if detail.disputed:
        raise ActionError("This payment is disputed; Stripe does not allow refunding it now.")
    refundable = detail.refundable_minor
    if refundable <= 0:
        raise ActionError("Nothing is left to refund on this payment.")
    try:
        minor = parse_amount(amount_text, currency)
    except AmountError as exc:
        raise ActionError(str(exc)) from exc
    if minor > refundable:
        raise ActionError(
            f"At most {format_money(refundable, currency)} can be refunded "
            "(the payment less what is refunded or waiting for Stripe)."
        )
    return minor


def request_refund(detail: DonationDetail, amount_minor: int, reason: str, staff: Supporter) -> str:
    """Ask Stripe for the refund; the ledger row arrives with Stripe's webhook. Returns its id."""
    actor = audit.staff_actor(staff)
    try:
        refund_id = refunds.refund(detail.payment, amount_minor, reason, actor)
    except PaymentsUnavailable as exc:
        log.warning("refund of %s: payments unavailable (%s)", detail.payment.payment_ref, exc)
        raise ActionError(UNAVAILABLE) from exc
    except (NotAllowed, PaymentRefused) as exc:
        raise ActionError(str(exc) or "Stripe refused the refund.") from exc
    audit.record(
        actor,
        REFUND_REQUESTED,
        refund_target(detail.payment.payment_ref),
        refund_id=refund_id,
        amount_minor=amount_minor,
        currency=detail.payment.currency,
        reason=reason,
    )
    return refund_id


def check_cancellable(pledge: Pledge) -> None:
    keeper = kept_elsewhere(pledge.channel)
    if keeper is not None or (pledge.channel or "stripe") != "stripe":
        where = keeper.name if keeper else pledge.channel
        raise ActionError(f"This pledge is kept at {where}; cancel it there.")
    if pledge.status not in CANCELLABLE:
        raise ActionError(f"This pledge is already {pledge.status}.")


def cancel_pledge(pledge: Pledge, reason: str, staff: Supporter) -> Pledge:
    check_cancellable(pledge)
    actor = audit.staff_actor(staff)
    old_status = pledge.status
    try:
        pledge = pledges.cancel(pledge, reason, actor)
    except PaymentsUnavailable as exc:
        log.warning("cancel pledge %s: payments unavailable (%s)", pledge.id, exc)
        raise ActionError(UNAVAILABLE) from exc
    except (NotAllowed, PaymentRefused) as exc:
        raise ActionError(str(exc) or "Stripe refused to cancel the subscription.") from exc
    audit.record(
        actor,
        "staff.pledge_cancel",
        f"pledge:{pledge.id}",
        subscription=pledge.stripe_subscription_id,
        old_status=old_status,
        new_status=pledge.status,
        reason=reason,
    )
    return pledge


def reconcile_recent(staff: Supporter, days: int = 30) -> ReconcileReport:
    """Reconcile the last `days` with Stripe on a staff member's request, audited."""
    since = int((utcnow() - timedelta(days=days)).timestamp())
    report = reconcile(since)
    audit.record(
        audit.staff_actor(staff), "staff.reconcile", "stripe", applied=report.events_applied,
        fixed=report.objects_fixed, failures=report.failures,
    )  # fmt: skip
    return report
