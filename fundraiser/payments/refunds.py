"""Refunds asked for by staff: checked against what is left to refund, made once at Stripe."""

from __future__ import annotations

from fundraiser.audit import record as audit_record
from fundraiser.models import EntryKind, LedgerEntry
from fundraiser.payments import gateway, ledger, ledger_writes
from fundraiser.payments.errors import NotAllowed
from fundraiser.payments.gifts import gift_state


def refundable_minor(payment: LedgerEntry) -> int:
    """What can still be refunded on a payment, in its minor units."""
    refunded, withdrawn = ledger_writes.adjustments(payment.payment_ref)
    return gift_state(payment.amount_minor, refunded, withdrawn).refundable_minor


def refund(entry: LedgerEntry, amount_minor: int, reason: str, actor: str) -> str:
    """Refund part or all of a payment at Stripe; the ledger row follows from the webhook.

    A repeated request for the same amount against the same refunded-so-far total reuses
    Stripe's answer (idempotency key), so a double-submitted form refunds once.
    """
    if entry.kind != EntryKind.PAYMENT.value:
        raise NotAllowed("Only a payment can be refunded.")
    remaining = refundable_minor(entry)
    if amount_minor <= 0:
        raise NotAllowed("The refund must be more than zero.")
    if amount_minor > remaining:
        raise NotAllowed("That is more than is left to refund on this payment.")
    already = ledger_writes.refunded_so_far(entry.payment_ref)
    key = f"refund-{entry.payment_ref}-{already}-{amount_minor}"
    result = gateway.create_refund(entry.payment_ref, amount_minor, reason, key)
    ledger.change(actor, lambda tx: audit_record(
        actor, "refund.requested", result["id"], payment=entry.payment_ref,
        amount_minor=amount_minor, currency=entry.currency, reason=reason,
    ))  # fmt: skip
    return result["id"]
