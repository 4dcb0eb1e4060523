"""The ledger: one row per money movement, the single source of truth for every total."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fundraiser.models.base import Base, UTCDateTime, utcnow
from fundraiser.models.campaign import Campaign


class EntryKind(StrEnum):
    PAYMENT = "payment"  # a one-off gift or a recurring invoice paid
    REFUND = "refund"  # full or partial; negative amount
    DISPUTE_OPENED = "dispute_opened"  # funds withdrawn by the bank; negative
    DISPUTE_WON = "dispute_won"  # funds reinstated; positive
    DISPUTE_LOST = "dispute_lost"  # no further movement; kept for the record


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
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
    #: "dp_…:opened|won|lost" for dispute steps. UNIQUE: every write is an upsert on it.
    stripe_ref: Mapped[str] = mapped_column(String(255), unique=True)
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
    #: Stripe's fee in minor units when known (from the balance transaction).
    fee_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
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


#: Payments by time with what the overview counts donors by, so "people who gave this month"
#: is an index-only range scan of the period's payments, never a read of the whole ledger.
Index(
    "ix_ledger_payment_donors",
    LedgerEntry.occurred_at,
    postgresql_include=["currency", "donor_email", "payment_ref"],
    postgresql_where=text("kind = 'payment'"),
    sqlite_where=text("kind = 'payment'"),
)
