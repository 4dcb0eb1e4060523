"""Stripe's fee on a payment that was booked before the fee was known.

A renewal is booked from its invoice in one Stripe call, where the charge's balance transaction
(the fee) is a level deeper than Stripe expands; for some payment methods it does not exist yet
at that moment anyway. Such a row is written with no fee, and the fee is looked up after the
commit: in an RQ job when Redis is configured, inline otherwise. `flask stripe reconcile` fills
in any that are still missing.
"""

from __future__ import annotations

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry
from fundraiser.payments import gateway, ledger, ledger_writes
from fundraiser.payments.ledger import Transaction

ACTOR = "stripe:fees"


def fill_fee(entry_id: int, tx: Transaction) -> bool:
    """Look up and record the fee of one payment row; False if there is nothing to record yet."""
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.settled_amount_minor is not None or not entry.charge_id:
        return False
    settlement = ledger_writes.settlement_of(
        gateway.retrieve_charge(entry.charge_id).get("balance_transaction")
    )
    if settlement is None:
        return False  # not settled yet; reconcile tries again
    return ledger_writes.record_fee(entry_id, entry.currency, settlement, tx)


def fill_fee_later(entry_id: int) -> None:
    """After-commit receiver of `fee_unknown` (queued)."""
    ledger.change(ACTOR, lambda tx: fill_fee(entry_id, tx))
