"""A gift's status and what is left to refund: one rule, used by the supporter's account,
the staff dashboard (in Python and, for filters and exports, as SQL) and staff refunds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case


class GiftStatus(StrEnum):
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    #: A dispute holds the money now (open, or lost); a won dispute gave it back.
    DISPUTED = "disputed"


@dataclass(frozen=True)
class GiftState:
    status: GiftStatus
    #: What staff may still refund (nothing while a dispute holds the money).
    refundable_minor: int
    #: What the campaign keeps: the gift less refunds and what disputes hold.
    kept_minor: int


def gift_state(
    amount_minor: int, refunded_minor: int, withdrawn_minor: int, pending_minor: int = 0
) -> GiftState:
    """From the payment's amount and its ledger adjustments: refunded (positive), withdrawn by
    disputes now (opened minus won back, positive) and refunds asked for but not booked yet."""
    if withdrawn_minor > 0:
        status = GiftStatus.DISPUTED
    elif refunded_minor >= amount_minor:
        status = GiftStatus.REFUNDED
    elif refunded_minor > 0:
        status = GiftStatus.PARTIALLY_REFUNDED
    else:
        status = GiftStatus.PAID
    refundable = 0
    if status is not GiftStatus.DISPUTED:
        refundable = max(0, amount_minor - refunded_minor - pending_minor)
    kept = max(0, amount_minor - refunded_minor - withdrawn_minor)
    return GiftState(status, refundable, kept)


def status_sql(amount_minor, refunded_minor, withdrawn_minor):
    """`gift_state(...).status` as a SQL CASE over the same three columns or expressions."""
    return case(
        (withdrawn_minor > 0, GiftStatus.DISPUTED.value),
        (refunded_minor >= amount_minor, GiftStatus.REFUNDED.value),
        (refunded_minor > 0, GiftStatus.PARTIALLY_REFUNDED.value),
        else_=GiftStatus.PAID.value,
    )
