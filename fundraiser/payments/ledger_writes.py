"""Ledger writes: the one place where payments, refunds and dispute steps become ledger rows
(with their roll-ups, audit entries and announcements); pledges are in pledge_mirror.

Every write is an upsert keyed on a Stripe id, so applying the same fact twice (a redelivered
event, the thank-you page racing the webhook, reconcile) changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from sqlalchemy import case, func, select, update

from fundraiser.audit import entry as audit_entry
from fundraiser.audit import write as audit
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    DonationIntent,
    EntryKind,
    IntentStatus,
    LedgerEntry,
    Pledge,
)
from fundraiser.money import decimals
from fundraiser.payments import rollups
from fundraiser.payments.ledger import Transaction
from fundraiser.payments.lookups import email_of, from_unix, id_of


class CampaignKey(NamedTuple):
    """What the books need of a campaign (a Campaign serves too)."""

    id: int
    slug: str


class PayingPledge(NamedTuple):
    """What the books need of a pledge (a Pledge serves too)."""

    id: int
    email: str | None


@dataclass(frozen=True)
class PaymentContext:
    """Who and what a payment was for, gathered from our intent, pledge or Stripe metadata."""

    campaign: Campaign | CampaignKey
    frequency: str
    intent: DonationIntent | None = None
    pledge: Pledge | PayingPledge | None = None
    invoice_id: str | None = None


@dataclass(frozen=True)
class ChargeFacts:
    """A succeeded payment as the ledger keeps it, from whichever Stripe objects told us."""

    payment_intent_id: str
    charge_id: str
    amount_minor: int
    currency: str
    occurred_at: datetime | None
    email: str | None
    name: str
    #: None while Stripe's balance transaction isn't known to us (see payments.fees).
    settlement: Settlement | None = None


@dataclass(frozen=True)
class Settlement:
    """What Stripe's balance transaction says a movement came to in the account's currency."""

    currency: str
    amount_minor: int
    fee_minor: int
    #: Settlement units per unit of the gift's currency; None when none was converted.
    exchange_rate: Decimal | None

    def fee_in(self, currency: str) -> int:
        """The fee in minor units of the gift's `currency` (converted back at Stripe's rate)."""
        if self.exchange_rate is None or currency == self.currency:
            return self.fee_minor
        scale = decimals(currency) - decimals(self.currency)
        fee = Decimal(self.fee_minor).scaleb(scale) / self.exchange_rate
        return int(fee.quantize(Decimal(1), ROUND_HALF_EVEN))

    def columns(self, currency: str) -> dict:
        return {
            "fee_minor": self.fee_in(currency),
            "settlement_currency": self.currency,
            "settled_amount_minor": self.amount_minor,
            "settled_fee_minor": self.fee_minor,
            "exchange_rate": self.exchange_rate,
        }


def settlement_of(balance: Any) -> Settlement | None:
    """From a balance transaction (expanded), or None if it is only an id or missing."""
    if not isinstance(balance, dict):
        return None
    rate = balance.get("exchange_rate")
    return Settlement(
        currency=balance["currency"].upper(),
        amount_minor=int(balance["amount"]),
        fee_minor=int(balance["fee"]),
        exchange_rate=None if rate is None else Decimal(str(rate)),
    )


UNSETTLED = {
    "fee_minor": None,
    "settlement_currency": None,
    "settled_amount_minor": None,
    "settled_fee_minor": None,
    "exchange_rate": None,
}


def charge_facts(payment_intent: dict) -> ChargeFacts | None:
    """From a payment intent retrieved with its charge and the charge's balance transaction."""
    charge = payment_intent.get("latest_charge")
    if payment_intent.get("status") != "succeeded" or not isinstance(charge, dict):
        return None
    balance = charge.get("balance_transaction")
    billing = charge.get("billing_details") or {}
    return ChargeFacts(
        payment_intent_id=payment_intent["id"],
        charge_id=charge["id"],
        amount_minor=int(charge["amount"]),
        currency=charge["currency"].upper(),
        occurred_at=from_unix(charge.get("created")),
        email=email_of(billing.get("email"), payment_intent.get("receipt_email")),
        name=billing.get("name") or "",
        settlement=settlement_of(balance),
    )


def invoice_charge_facts(invoice: dict, payment_intent: dict) -> ChargeFacts | None:
    """From a paid invoice and its payment intent, whose charge is only an id (no fee yet)."""
    charge_id = id_of(payment_intent.get("latest_charge"))
    if payment_intent.get("status") != "succeeded" or not charge_id:
        return None
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    return ChargeFacts(
        payment_intent_id=payment_intent["id"],
        charge_id=charge_id,
        amount_minor=int(payment_intent["amount_received"]),
        currency=payment_intent["currency"].upper(),
        occurred_at=from_unix(paid_at or payment_intent.get("created")),
        email=email_of(invoice.get("customer_email"), payment_intent.get("receipt_email")),
        name=invoice.get("customer_name") or "",
    )


def record_payment(
    facts: ChargeFacts | None, context: PaymentContext, tx: Transaction
) -> int | None:
    """Write the ledger row for a succeeded payment once (its id); later calls are no-ops."""
    if facts is None:
        return None
    intent = context.intent
    email = email_of(
        facts.email,
        intent.email if intent else None,
        context.pledge.email if context.pledge else None,
    )
    name = (facts.name or (intent.name if intent else "") or "")[:200]
    if intent and intent.anonymous:
        name = ""
    values = {
        "stripe_ref": facts.payment_intent_id,
        "kind": EntryKind.PAYMENT.value,
        "campaign_id": context.campaign.id,
        "payment_ref": facts.payment_intent_id,
        "charge_id": facts.charge_id,
        "invoice_id": context.invoice_id,
        "pledge_id": context.pledge.id if context.pledge else None,
        "intent_id": intent.id if intent else None,
        "frequency": context.frequency,
        "amount_minor": facts.amount_minor,
        "currency": facts.currency,
        **(facts.settlement.columns(facts.currency) if facts.settlement else UNSETTLED),
        "donor_email": email,
        "donor_name": name,
        "occurred_at": facts.occurred_at or datetime.now(UTC),
        "created_at": datetime.now(UTC),
    }
    # Whoever books the payment, the intent is paid; the money is booked even when the
    # intent's own story disagrees (say, it failed first; it then keeps that status).
    if intent and intent.can_move_to(IntentStatus.PAID):
        intent.move_to(IntentStatus.PAID, tx.actor)
    recorded = audit_entry(
        tx.actor,
        "payment.recorded",
        facts.payment_intent_id,
        amount_minor=facts.amount_minor,
        currency=facts.currency,
        campaign=context.campaign.slug,
    )
    # The supporter_id: the verified supporter with this email, if any.
    entry_id = rollups.insert_entry(values, audit=recorded, find_supporter=True)
    if entry_id is None:
        return None
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=context.campaign.id)
    tx.announce("payment_recorded", entry_id=entry_id)
    if facts.settlement is None:
        tx.announce("fee_unknown", entry_id=entry_id)
    return entry_id


def book_entry(values: dict, tx: Transaction) -> int:
    """Insert a ledger row given in full (column values) and count it: the rows a channel
    without its own adapter books (offline gifts, imports, test builders). Returns its id."""
    entry_id = rollups.insert_entry(values)
    if entry_id is None:
        raise ValueError(f"ledger row {values['stripe_ref']} exists already")
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=values["campaign_id"])
    return entry_id


def record_fee(entry_id: int, currency: str, settlement: Settlement, tx: Transaction) -> bool:
    """Stripe's fee and settled amount on a payment (in `currency`) booked before they were
    known; only ever set once."""
    columns = settlement.columns(currency)
    filled = db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.id == entry_id, LedgerEntry.settled_amount_minor.is_(None))
        .values(columns)
        .returning(
            LedgerEntry.stripe_ref,
            LedgerEntry.campaign_id,
            LedgerEntry.channel,
            LedgerEntry.currency,
            LedgerEntry.kind,
            LedgerEntry.frequency,
            LedgerEntry.occurred_at,
        )
    ).first()
    if filled is None:
        return False
    rollups.add_fee(filled._asdict(), columns["fee_minor"], settlement.amount_minor)
    tx.wrote = True
    audit(tx.actor, "payment.fee_recorded", filled.stripe_ref, fee_minor=columns["fee_minor"])
    return True


def payment_entry(payment_ref: str) -> LedgerEntry | None:
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.stripe_ref == payment_ref, LedgerEntry.kind == EntryKind.PAYMENT.value
        )
    )


def refunded_so_far(payment_ref: str) -> int:
    """Minor units already refunded on a payment (a positive number)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
            LedgerEntry.payment_ref == payment_ref, LedgerEntry.kind == EntryKind.REFUND.value
        )
    )
    return -int(total)


def adjustments(payment_ref: str) -> tuple[int, int]:
    """(refunded, withdrawn by disputes now) on a payment, both positive minor units."""
    dispute_kinds = [k.value for k in DISPUTE_STEPS]
    refunded, disputed = db.session.execute(
        select(
            func.coalesce(
                func.sum(
                    case((LedgerEntry.kind == EntryKind.REFUND.value, LedgerEntry.amount_minor))
                ),
                0,
            ),
            func.coalesce(
                func.sum(case((LedgerEntry.kind.in_(dispute_kinds), LedgerEntry.amount_minor))),
                0,
            ),
        ).where(LedgerEntry.payment_ref == payment_ref, LedgerEntry.kind != EntryKind.PAYMENT.value)
    ).one()
    return -int(refunded), -int(disputed)


DISPUTE_STEPS = (EntryKind.DISPUTE_OPENED, EntryKind.DISPUTE_WON, EntryKind.DISPUTE_LOST)


#: A refund Stripe could not make (the card was closed, say): the money stays with us.
FAILED_REFUND = {"failed", "canceled"}


def record_refund(refund: dict, payment: LedgerEntry, tx: Transaction) -> bool:
    """A succeeded (or pending) refund as a negative ledger row, once per refund id; a
    refund that failed afterwards is reversed (see reverse_failed_refund)."""
    if refund.get("status") in FAILED_REFUND:
        return reverse_failed_refund(refund, payment, tx)
    if refund.get("status") not in {"succeeded", "pending"}:
        return False
    values = _movement(payment, refund["id"], EntryKind.REFUND, -int(refund["amount"]))
    values["occurred_at"] = from_unix(refund.get("created")) or datetime.now(UTC)
    entry_id = rollups.insert_entry(values)
    if entry_id is None:
        return False
    audit(
        tx.actor,
        "refund.recorded",
        refund["id"],
        payment=payment.stripe_ref,
        amount_minor=refund["amount"],
    )
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=payment.campaign_id)
    tx.announce("refund_recorded", entry_id=entry_id)
    return True


def reverse_failed_refund(refund: dict, payment: LedgerEntry, tx: Transaction) -> bool:
    """A booked refund that failed: a row of the same kind and the opposite sign ("re_…:failed"),
    so every refund sum comes out right. Nothing if the refund was never booked."""
    booked = db.session.scalar(
        select(LedgerEntry.amount_minor).where(LedgerEntry.stripe_ref == refund["id"])
    )
    if booked is None:
        return False
    values = _movement(payment, f"{refund['id']}:failed", EntryKind.REFUND, -booked)
    values["occurred_at"] = datetime.now(UTC)
    if rollups.insert_entry(values) is None:
        return False
    audit(tx.actor, "refund.failed", refund["id"], payment=payment.stripe_ref, amount_minor=-booked)
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=payment.campaign_id)
    return True


#: Inquiries (no chargeback yet) and prevented disputes move no money at Stripe.
NO_MONEY_DISPUTES = {
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "prevented",
}


def record_dispute_step(dispute: dict, payment: LedgerEntry, tx: Transaction) -> bool:
    """Opened: funds withdrawn (negative). Won: reinstated (positive). Lost: kept on record.
    An inquiry or a prevented dispute books nothing."""
    status = dispute.get("status")
    if status in NO_MONEY_DISPUTES:
        return False
    amount = int(dispute["amount"])
    if status == "won":
        kind, signed = EntryKind.DISPUTE_WON, amount
    elif status == "lost":
        kind, signed = EntryKind.DISPUTE_LOST, 0
    else:
        kind, signed = EntryKind.DISPUTE_OPENED, -amount
    steps = [(EntryKind.DISPUTE_OPENED, -amount)] if kind is not EntryKind.DISPUTE_OPENED else []
    changed = False
    # A closed dispute whose opening we never saw still records the withdrawal first.
    for step_kind, step_amount in [*steps, (kind, signed)]:
        ref = f"{dispute['id']}:{step_kind.value.removeprefix('dispute_')}"
        values = _movement(payment, ref, step_kind, step_amount)
        values["occurred_at"] = from_unix(dispute.get("created")) or datetime.now(UTC)
        if rollups.insert_entry(values) is not None:
            audit(tx.actor, f"dispute.{step_kind.value}", dispute["id"], amount_minor=step_amount)
            changed = True
    if changed:
        tx.wrote = True
        tx.announce("ledger_changed", campaign_id=payment.campaign_id)
    return changed


def _movement(payment: LedgerEntry, ref: str, kind: EntryKind, amount: int) -> dict:
    return {
        "stripe_ref": ref,
        "kind": kind.value,
        "campaign_id": payment.campaign_id,
        "payment_ref": payment.payment_ref,
        "charge_id": payment.charge_id,
        "invoice_id": payment.invoice_id,
        "pledge_id": payment.pledge_id,
        "intent_id": payment.intent_id,
        "frequency": payment.frequency,
        "amount_minor": amount,
        "currency": payment.currency,
        "donor_email": payment.donor_email,
        "donor_name": payment.donor_name,
        "supporter_id": payment.supporter_id,
        "created_at": datetime.now(UTC),
        **_settled_like(payment, amount),
    }


def _settled_like(payment: LedgerEntry, amount: int) -> dict:
    """A refund or dispute step settles in the payment's settlement currency, at the
    payment's exchange rate (Stripe's own rate for it may differ by a rounding)."""
    if payment.settlement_currency is None:
        return dict(UNSETTLED)
    settled = amount
    if payment.exchange_rate is not None:
        scale = decimals(payment.settlement_currency) - decimals(payment.currency)
        converted = Decimal(amount).scaleb(scale) * payment.exchange_rate
        settled = int(converted.quantize(Decimal(1), ROUND_HALF_EVEN))
    return {
        "fee_minor": None,
        "settlement_currency": payment.settlement_currency,
        "settled_amount_minor": settled,
        "settled_fee_minor": None,
        "exchange_rate": payment.exchange_rate,
    }


def erase_donor(owned, supporter_id: int, tx: Transaction) -> None:
    """Forget a donor's email and name on the ledger rows `owned` (a WHERE clause) selects;
    amounts, Stripe ids and the supporter id stay, and the donor roll-ups are re-keyed."""
    erased_emails = rollups.donor_emails(owned)
    campaigns = set(db.session.scalars(select(LedgerEntry.campaign_id).where(owned).distinct()))
    db.session.execute(
        update(LedgerEntry)
        .where(owned)
        .values(donor_email=None, donor_name="", supporter_id=supporter_id)
        .execution_options(synchronize_session=False)
    )
    # The donor roll-up must forget the emails too (and count the payments by their ids).
    rollups.rekey_donors(erased_emails, LedgerEntry.supporter_id == supporter_id)
    tx.wrote = True
    for campaign_id in campaigns:
        tx.announce("ledger_changed", campaign_id=campaign_id)
