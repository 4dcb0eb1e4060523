"""Roll-ups of the ledger: sums and counts kept in step with it, so figures need no full scan.

Written only by `fundraiser.payments.rollups`, in the transaction that writes the ledger row,
and rebuildable from the ledger at any time (`flask dashboard rebuild-rollups`); the ledger
stays the single source of truth. So their campaign_id has no foreign key: every row comes
from ledger rows whose own key guards it, and a check per roll-up row (seven upserts per
booking, every row of a rebuild) bought nothing but work.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base

#: Width of a time bucket. Every UTC offset in use today is a whole number of quarter
#: hours (India +5:30, Nepal +5:45, Chatham +12:45), so a UTC quarter hour lies inside one
#: local day in any reporting time zone; hourly buckets would straddle midnight in the
#: half-hour zones and put gifts on the wrong day.
QUARTER_SECONDS = 15 * 60
_QUARTER = timedelta(seconds=QUARTER_SECONDS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quarter_of(moment: datetime) -> int:
    """The UTC quarter hour a moment falls in (LedgerQuarterHour.quarter)."""
    return (moment - _EPOCH) // _QUARTER


def first_quarter_from(moment: datetime) -> int:
    """The first quarter hour starting at or after `moment` (its own if it starts one)."""
    return -((_EPOCH - moment) // _QUARTER)


def quarter_start(quarter: int) -> datetime:
    return _EPOCH + quarter * _QUARTER


class LedgerTotal(Base):
    """All-time sums per campaign, currency, kind and frequency (a handful of rows)."""

    __tablename__ = "ledger_totals"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: An EntryKind value.
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: Ledger rows counted here.
    entries: Mapped[int] = mapped_column(BigInteger)
    #: Sum of their signed amounts, minor units.
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    #: Sum of their known fees, minor units.
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    #: Sum of their settled amounts (settlement currency) where known.
    settled_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: Rows counted here whose settled amount is not known (yet).
    unsettled: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class LedgerChannelTotal(Base):
    """All-time sums per campaign, channel and currency: the totals' `by_channel`."""

    __tablename__ = "ledger_channel_totals"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: A ledger Channel value.
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger)
    #: Sum of the rows' signed amounts, minor units.
    amount_minor: Mapped[int] = mapped_column(BigInteger)


class LedgerQuarterHour(Base):
    """The same sums per UTC quarter hour, for periods and per-day charts in any time zone."""

    __tablename__ = "ledger_quarter_hours"

    #: Unix time // QUARTER_SECONDS of the rows' occurred_at: an integer is the same on
    #: every backend, where a timestamp's text form on SQLite would have to match exactly.
    quarter: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    frequency: Mapped[str] = mapped_column(String(10), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)


class LedgerQuarterChannel(Base):
    """Sums per UTC quarter hour, channel, currency and kind, with what they settled to: the
    overview's combined figure and channel lines for any period, without reading the ledger."""

    __tablename__ = "ledger_quarter_channels"

    quarter: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: A ledger Channel value.
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: An EntryKind value.
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    #: Sum of their settled amounts (settlement currency) where known.
    settled_minor: Mapped[int] = mapped_column(BigInteger)
    #: Rows counted here whose settled amount is not known (yet).
    unsettled: Mapped[int] = mapped_column(BigInteger)


class LedgerDonor(Base):
    """Each donor once per campaign and currency: supporter counts are row counts."""

    __tablename__ = "ledger_donors"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: The payment's donor_email, or its payment_ref once the email is erased (so an erased
    #: donor still counts, once per payment, as the dashboard always has).
    donor_key: Mapped[str] = mapped_column(String(320), primary_key=True)
    #: Their payments less refunds in this currency: 0 once every gift was refunded.
    kept_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class LedgerSupporter(Base):
    """Each donor once per campaign, with how many currencies they still give in: the
    campaign's supporters are its rows above 0 (issue 13), counted in LedgerSupporterCount."""

    __tablename__ = "ledger_supporters"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: As LedgerDonor.donor_key.
    donor_key: Mapped[str] = mapped_column(String(320), primary_key=True)
    #: The donor's LedgerDonor rows in this campaign with kept_minor above 0. A row left at 0
    #: (every gift refunded) means what no row means: a rebuild writes none.
    currencies: Mapped[int] = mapped_column(Integer)


class LedgerSupporterCount(Base):
    """Per campaign, its LedgerSupporter rows above 0: the landing page's supporters, one row
    read instead of a distinct count over every donor."""

    __tablename__ = "ledger_supporter_counts"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    supporters: Mapped[int] = mapped_column(BigInteger)


#: LedgerDonorKey.currency of the rows that count a donor once whatever the currency.
ANY_CURRENCY = "*"


class LedgerDonorKey(Base):
    """Each donor once per currency, and once more under ANY_CURRENCY, whatever the campaign:
    the dashboard's supporter counts are counts of these rows, read from the primary key."""

    __tablename__ = "ledger_donor_keys"

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    donor_key: Mapped[str] = mapped_column(String(320), primary_key=True)


class LedgerGiftAmount(Base):
    """How many payments there were of each amount: exact medians from a few thousand rows."""

    __tablename__ = "ledger_gift_amounts"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount_minor: Mapped[int] = mapped_column(Integer, primary_key=True)
    payments: Mapped[int] = mapped_column(BigInteger)
