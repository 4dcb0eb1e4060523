"""Refunds asked for by staff: checked against what is left to refund, made once at Stripe."""

from __future__ import annotations

from fundraiser.models import EntryKind, LedgerEntry
from fundraiser.payments import books, gateway, ledger


def refundable_minor(payment: LedgerEntry) -> int:
    """What can still be refunded on a payment, in its minor units."""
    return payment.amount_minor - books.refunded_so_far(payment.payment_ref)


def refund(entry: LedgerEntry, amount_minor: int, reason: str, actor: str) -> str:
    """Refund part or all of a payment at Stripe; the ledger row follows from the webhook.

    A repeated request for the same amount against the same refunded-so-far total reuses
    Stripe's answer (idempotency key), so a double-submitted form refunds once.
    """
    if entry.kind != EntryKind.PAYMENT.value:
        raise gateway.PaymentRefused("Only a payment can be refunded.")
    remaining = refundable_minor(entry)
    if amount_minor <= 0:
        raise gateway.PaymentRefused("The refund must be more than zero.")
    if amount_minor > remaining:
        raise gateway.PaymentRefused("That is more than is left to refund on this payment.")
    already = entry.amount_minor - remaining
    key = f"refund-{entry.payment_ref}-{already}-{amount_minor}"
    result = gateway.create_refund(entry.payment_ref, amount_minor, reason, key)
    ledger.change(actor, lambda tx: books.audit(
        actor, "refund.requested", result["id"], payment=entry.payment_ref,
        amount_minor=amount_minor, currency=entry.currency, reason=reason,
    ))  # fmt: skip
    return result["id"]
