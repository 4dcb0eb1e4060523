"""The monthly bookkeeping export: per local month, channel and currency, what came in, what
went out and what was settled, summed from the ledger's quarter-hour roll-up (which has no
channel: the few PayPal, Patreon and offline rows are summed from the ledger itself and taken
out of the roll-up's figures, what remains is Stripe).

A UTC quarter hour never straddles a local midnight (see models.rollup), so folding quarter
hours into months of the reporting time zone is exact: the figures tie to the ledger to the
minor unit. Settled is net in the charge currency until payouts in a settlement currency are
booked (the multi-currency work); the column is there so the layout need not change then.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, literal, literal_column, select

from fundraiser.dashboard.channels import channel_label
from fundraiser.dashboard.periods import local_midnight, reporting_zone
from fundraiser.dashboard.reports import PeriodFigures, _add, _grouped_sums
from fundraiser.extensions import db
from fundraiser.models import Channel, EntryKind, LedgerEntry, LedgerQuarterHour
from fundraiser.models.rollup import quarter_of

BOOKKEEPING_COLUMNS = (
    "month",
    "channel",
    "currency",
    "payments",
    "gross_minor",
    "fees_minor",
    "refunds_minor",
    "disputes_minor",
    "net_minor",
    "settled_minor",
    "settled_currency",
)


@dataclass(frozen=True)
class BookRow:
    month: date
    channel: str
    currency: str
    figures: PeriodFigures

    @property
    def settled_minor(self) -> int:
        """Net in the charge currency until settlement amounts are booked (see module)."""
        return self.figures.net_minor

    @property
    def settled_currency(self) -> str:
        return self.currency

    def cells(self) -> tuple:
        f = self.figures
        return (
            self.month.strftime("%Y-%m"),
            self.channel,
            self.currency,
            f.payments,
            f.gross_minor,
            f.fees_minor,
            f.refunds_minor,
            f.disputes_minor,
            f.net_minor,
            self.settled_minor,
            self.settled_currency,
        )


def month_starts(year: int) -> list[date]:
    """The first day of each month of `year`, and of the next year (the end bound)."""
    return [date(year, month, 1) for month in range(1, 13)] + [date(year + 1, 1, 1)]


def monthly_books(year: int) -> list[BookRow]:
    """Rows for every month of `year` (reporting time zone) in which money moved, oldest
    first, then by channel and currency. One query over the roll-up, banded into months."""
    zone = reporting_zone()
    months = month_starts(year)
    starts = [quarter_of(local_midnight(month, zone)) for month in months]
    quarter = LedgerQuarterHour.quarter
    # Numbers written into the SQL: GROUP BY must repeat the CASE exactly (as reports does).
    written = [literal_column(str(int(start))) for start in starts[:-1]]
    band = case(*((quarter >= w, w) for w in reversed(written)))
    query = _grouped_sums(
        LedgerQuarterHour,
        LedgerQuarterHour.entries,
        LedgerQuarterHour.fee_minor,
        quarter >= starts[0],
        quarter < starts[-1],
        band=band,
    )
    sums: dict[tuple[date, str, str], list[int]] = {}
    month_of = dict(zip(starts, months, strict=False))
    stripe = channel_label(Channel.STRIPE.value)
    for currency, kind, frequency, band_start, *values in db.session.execute(query):
        # The roll-up has no channel: it holds every channel's rows, counted as Stripe here
        # and the other channels' share moved to their own rows below.
        key = (month_of[int(band_start)], stripe, currency)
        _add(sums.setdefault(key, [0] * 7), kind, frequency, *values)
    for month, channel, currency, kind, frequency, *values in _other_channels(months, zone):
        _add(
            sums.setdefault((month, channel_label(channel), currency), [0] * 7),
            kind,
            frequency,
            *values,
        )
        stripe_sums = sums.setdefault((month, stripe, currency), [0] * 7)
        _add(stripe_sums, kind, frequency, *(-int(v) for v in values))
    return [
        BookRow(*key, PeriodFigures(*values))
        for key, values in sorted(sums.items())
        if any(values)  # a month whose money all came through other channels
    ]


def _other_channels(months: list[date], zone) -> Iterator[tuple]:
    """(month, channel, currency, kind, frequency, entries, amount, fee) of the ledger's
    non-Stripe rows, one small query per month (these channels are a small share of rows)."""
    at = LedgerEntry.occurred_at
    groups = [LedgerEntry.channel, LedgerEntry.currency, LedgerEntry.kind, LedgerEntry.frequency]
    for month, next_month in zip(months, months[1:], strict=False):
        start, end = local_midnight(month, zone), local_midnight(next_month, zone)
        query = (
            select(
                *groups,
                func.sum(literal(1)),
                func.sum(LedgerEntry.amount_minor),
                func.sum(func.coalesce(LedgerEntry.fee_minor, 0)),
            )
            .where(
                LedgerEntry.kind.in_(list(EntryKind)),
                at >= start,
                at < end,
                LedgerEntry.channel != Channel.STRIPE.value,
            )
            .group_by(*groups)
        )
        for row in db.session.execute(query):
            yield (month, *row)


def bookkeeping_rows(year: int) -> Iterator[tuple]:
    for row in monthly_books(year):
        yield row.cells()
