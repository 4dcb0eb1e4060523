"""The ledger: one row per money movement, the single source of truth for every total."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fundraiser.models.base import Base, UTCDateTime, utcnow
from fundraiser.models.campaign import Campaign


class EntryKind(StrEnum):
    PAYMENT = "payment"  # a one-off gift or a recurring invoice paid
    REFUND = "refund"  # full or partial; negative ("re_…:failed", positive: it failed)
    DISPUTE_OPENED = "dispute_opened"  # funds withdrawn by the bank; negative
    DISPUTE_WON = "dispute_won"  # funds reinstated; positive
    DISPUTE_LOST = "dispute_lost"  # no further movement; kept for the record


class Channel(StrEnum):
    """Where the money came in: each channel is an adapter turning its messages into rows."""

    STRIPE = "stripe"
    PAYPAL = "paypal"
    PATREON = "patreon"
    OFFLINE = "offline"


CHANNELS = tuple(channel.value for channel in Channel)


def ledger_key(channel: str, external_id: str) -> str:
    """The ledger-wide key (stripe_ref) of a row: a Stripe id as it is, other channels' ids
    prefixed with their channel, so one UNIQUE column serves every channel's upserts."""
    return external_id if channel == Channel.STRIPE else f"{channel}:{external_id}"


def _external_id_default(context) -> str:
    """A Stripe row's external id is its Stripe id (the books write only stripe_ref)."""
    return context.get_current_parameters()["stripe_ref"]


#: The sign each kind's amount must have: the database refuses any other row.
SIGN_BY_KIND = (
    "(kind = 'payment' AND amount_minor > 0)"
    # A failed refund's reversal, "re_…:failed", is positive (the colon escaped: SQL text
    # would read ":failed" as a parameter).
    " OR (kind = 'refund' AND (amount_minor < 0 OR stripe_ref LIKE '%\\:failed'))"
    " OR (kind = 'dispute_opened' AND amount_minor < 0)"
    " OR (kind = 'dispute_won' AND amount_minor > 0)"
    " OR (kind = 'dispute_lost' AND amount_minor = 0)"
)


def currency_code_check(column: str) -> str:
    """SQL true for three upper-case letters (portable: a letter is what lower() changes)."""
    letters = " AND ".join(
        f"lower(substr({column}, {i}, 1)) <> substr({column}, {i}, 1)" for i in (1, 2, 3)
    )
    return f"length({column}) = 3 AND upper({column}) = {column} AND {letters}"


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(SIGN_BY_KIND, name="sign_by_kind"),
        CheckConstraint("fee_minor IS NULL OR fee_minor >= 0", name="fee_not_negative"),
        CheckConstraint(currency_code_check("currency"), name="currency_code"),
        CheckConstraint(
            "channel IN (" + ", ".join(f"'{c}'" for c in CHANNELS) + ")", name="known_channel"
        ),
        UniqueConstraint("channel", "external_id", name="uq_ledger_entries_channel_external_id"),
        CheckConstraint(
            f"settlement_currency IS NULL OR ({currency_code_check('settlement_currency')})",
            name="settlement_currency_code",
        ),
        CheckConstraint(
            "settled_fee_minor IS NULL OR settled_fee_minor >= 0", name="settled_fee_not_negative"
        ),
        Index("ix_ledger_campaign_time", "campaign_id", "occurred_at"),
        Index("ix_ledger_kind_time", "kind", "occurred_at"),
        # Refunds and dispute steps only, with what the donations table sums: a payment's
        # adjustments are an index-only lookup, not a scan of a million payments.
        Index(
            "ix_ledger_adjustments",
            "payment_ref",
            postgresql_include=["kind", "amount_minor", "fee_minor"],
            postgresql_where=text("kind <> 'payment'"),
            sqlite_where=text("kind <> 'payment'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The Stripe object this movement is: pi_… for a payment, re_… for a refund,
    #: "dp_…:opened|won|lost" for dispute steps; for other channels "<channel>:<external_id>"
    #: (ledger_key). UNIQUE: every write is an upsert on it.
    stripe_ref: Mapped[str] = mapped_column(String(255), unique=True)
    #: A Channel value: stripe, paypal, patreon or offline.
    channel: Mapped[str] = mapped_column(
        String(10), default=Channel.STRIPE.value, server_default=Channel.STRIPE.value
    )
    #: The channel's own id for the movement (Stripe id, PayPal txn_id, Patreon
    #: "member:charge date", offline reference), unique per channel.
    external_id: Mapped[str] = mapped_column(String(255), default=_external_id_default)
    kind: Mapped[str] = mapped_column(String(16))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    #: The payment row a refund or dispute belongs to (its payment intent id).
    payment_ref: Mapped[str] = mapped_column(String(255), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(255))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"), index=True)
    intent_id: Mapped[int | None] = mapped_column(ForeignKey("donation_intents.id"))
    #: "one-time", "monthly" or "yearly".
    frequency: Mapped[str] = mapped_column(String(10))
    #: Signed gross in minor units: payments positive, refunds and withdrawals negative.
    amount_minor: Mapped[int] = mapped_column(Integer)
    #: Stripe's fee in minor units of `currency` when known: the balance transaction's fee,
    #: converted back at its exchange rate when the account settles in another currency.
    fee_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    #: The account's settlement currency and, in it, what Stripe's balance transaction says
    #: the movement came to (signed like amount_minor) and cost; None until it is known.
    settlement_currency: Mapped[str | None] = mapped_column(String(3))
    settled_amount_minor: Mapped[int | None] = mapped_column(Integer)
    settled_fee_minor: Mapped[int | None] = mapped_column(Integer)
    #: Units of settlement currency per unit of `currency` (Stripe's exchange_rate); None
    #: when no conversion happened.
    exchange_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 9))
    #: Lower-cased donor email; erased (None) when the supporter deletes their account.
    donor_email: Mapped[str | None] = mapped_column(String(320), index=True)
    donor_name: Mapped[str] = mapped_column(String(200), default="")
    supporter_id: Mapped[int | None] = mapped_column(ForeignKey("supporters.id"), index=True)
    #: When the money moved, per Stripe.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campaign: Mapped[Campaign] = relationship()

    @property
    def net_minor(self) -> int:
        return self.amount_minor - (self.fee_minor or 0)

    @property
    def settled_net_minor(self) -> int | None:
        """What reached the account, in the settlement currency."""
        if self.settled_amount_minor is None:
            return None
        return self.settled_amount_minor - (self.settled_fee_minor or 0)


#: Payments by time with what the overview counts donors by, so "people who gave this month"
#: is an index-only range scan of the period's payments, never a read of the whole ledger.
Index(
    "ix_ledger_payment_donors",
    LedgerEntry.occurred_at,
    postgresql_include=["currency", "donor_email", "payment_ref"],
    postgresql_where=text("kind = 'payment'"),
    sqlite_where=text("kind = 'payment'"),
)
