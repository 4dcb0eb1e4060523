"""Ledger writes for the channels other than Stripe (PayPal, Patreon, offline): each adapter
turns its messages into a ChannelFact, and this books it once, inside `ledger.change`.

A fact's ledger key is "<channel>:<external id>" (models.ledger_key), so the IPN, the
activity CSV and a replay of either meet on one UNIQUE row: whichever comes first books it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from fundraiser.audit import record as audit
from fundraiser.database import insert_if_absent, insert_new
from fundraiser.extensions import db
from fundraiser.models import EntryKind, LedgerEntry, Pledge, PledgeStatus, ledger_key, utcnow
from fundraiser.money import decimals
from fundraiser.payments import ledger, rollups
from fundraiser.payments.ledger import Transaction
from fundraiser.payments.lookups import email_of, locked, verified_supporter_id


@dataclass(frozen=True)
class ChannelFact:
    """One money movement as a channel reports it, in the ledger's terms."""

    channel: str
    #: The channel's own id for this movement (a PayPal txn_id, "member:date" at Patreon).
    external_id: str
    kind: EntryKind
    campaign_id: int
    #: Signed minor units (payments positive, refunds and reversals negative).
    amount_minor: int
    currency: str
    occurred_at: datetime | None = None
    fee_minor: int | None = None
    frequency: str = "one-time"
    email: str | None = None
    name: str = ""
    pledge_id: int | None = None
    #: The external id of the payment a refund or reversal belongs to (itself for a payment).
    payment_external_id: str | None = None
    #: Kept in the audit entry (an offline gift's reference and note, say).
    audit_detail: tuple[tuple[str, str], ...] = ()


def record(fact: ChannelFact, tx: Transaction) -> int | None:
    """Book the fact once: its new row's id, or None when the channel's id is booked already."""
    email = email_of(fact.email)
    values = {
        "stripe_ref": ledger_key(fact.channel, fact.external_id),
        "channel": fact.channel,
        "external_id": fact.external_id,
        "kind": fact.kind.value,
        "campaign_id": fact.campaign_id,
        "payment_ref": ledger_key(fact.channel, fact.payment_external_id or fact.external_id),
        "charge_id": None,
        "invoice_id": None,
        "pledge_id": fact.pledge_id,
        "intent_id": None,
        "frequency": fact.frequency,
        "amount_minor": fact.amount_minor,
        "fee_minor": fact.fee_minor,
        "currency": fact.currency.upper(),
        "settlement_currency": None,
        "settled_amount_minor": None,
        "settled_fee_minor": None,
        "exchange_rate": None,
        "donor_email": email,
        "donor_name": (fact.name or "")[:200],
        "supporter_id": verified_supporter_id(email),
        "occurred_at": fact.occurred_at or datetime.now(UTC),
        "created_at": datetime.now(UTC),
    }
    entry_id = insert_new(LedgerEntry, values, ["stripe_ref"], "id")
    if entry_id is None:
        return None
    rollups.add_entry(values)
    audit(
        tx.actor,
        f"{fact.channel}.{fact.kind.value}",
        values["stripe_ref"],
        amount_minor=fact.amount_minor,
        currency=values["currency"],
        campaign_id=fact.campaign_id,
        **dict(fact.audit_detail),
    )
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=fact.campaign_id)
    return entry_id


def booked(channel: str, external_id: str) -> LedgerEntry | None:
    """The ledger row a channel's id booked, if any (a refund's payment, say)."""
    return db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.stripe_ref == ledger_key(channel, external_id))
    )


def minor_units(text: str, currency: str) -> int:
    """A channel's decimal amount ("25.00", "-3.10") in signed minor units, or ValueError."""
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"{text!r} is not an amount") from None
    minor = amount.scaleb(decimals(currency.upper()))
    if not amount.is_finite() or minor != minor.to_integral_value() or abs(minor) >= 10**12:
        raise ValueError(f"{text!r} is not an amount in {currency}")
    return int(minor)


@dataclass(frozen=True)
class ImportOutcome:
    new: int
    known: int
    #: The external ids this import booked first (for PayPal: never announced by an IPN).
    new_ids: tuple[str, ...] = ()


def record_all(
    facts: list[ChannelFact],
    actor: str,
    progress: Callable[[list], Iterable] | None = None,
) -> ImportOutcome:
    """Book many facts in one change (an import is all or nothing): how many were new.
    `progress` wraps the list on each attempt (a retried change starts again)."""

    def work(tx: Transaction) -> ImportOutcome:
        new_ids: list[str] = []
        known = 0
        for fact in progress(facts) if progress else facts:
            if record(fact, tx) is None:
                known += 1
            else:
                new_ids.append(fact.external_id)
        return ImportOutcome(len(new_ids), known, tuple(new_ids))

    return ledger.change(actor, work)


def mirrored_pledge(
    key: str,
    channel: str,
    campaign_id: int,
    email: str | None,
    amount_minor: int,
    currency: str,
    interval: str,
) -> Pledge:
    """The pledge another channel keeps under `key`, created (incomplete) the first time it is
    heard of, and locked for the caller's transaction."""
    now = utcnow()
    insert_if_absent(
        Pledge,
        {
            "stripe_subscription_id": key,
            "channel": channel,
            "campaign_id": campaign_id,
            "email": email,
            "supporter_id": verified_supporter_id(email),
            "amount_minor": amount_minor,
            "currency": currency,
            "interval": interval,
            "status": PledgeStatus.INCOMPLETE.value,
            "cancel_reason": "",
            "revision": 0,
            "stripe_synced_at": 0,
            "created_at": now,
            "updated_at": now,
        },
        ["stripe_subscription_id"],
    )
    return db.session.scalar(locked(select(Pledge).where(Pledge.stripe_subscription_id == key)))
