"""The figures on /staff: ledger sums per currency (from the roll-ups), pledges, gifts, donors
and clicks, in SQL."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select, true

from fundraiser.dashboard.periods import (
    Period,
    headline_periods,
    local_midnight,
    month_start,
    reporting_zone,
)
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    EntryKind,
    LedgerDonor,
    LedgerEntry,
    LedgerGiftAmount,
    LedgerQuarterHour,
    LedgerTotal,
    OutboundClick,
    Pledge,
    PledgeStatus,
    utcnow,
)
from fundraiser.models.rollup import first_quarter_from, quarter_of, quarter_start

DISPUTE_KINDS = (
    EntryKind.DISPUTE_OPENED.value,
    EntryKind.DISPUTE_WON.value,
    EntryKind.DISPUTE_LOST.value,
)
ONE_OFF = "one-time"


@dataclass(frozen=True)
class PeriodFigures:
    """One period's money in one currency; all minor units, refunds/disputes as positive outflows.

    net = gross − fees − refunds − disputes, which is the sum of (amount − fee) over the rows.
    """

    gross_minor: int = 0
    one_off_minor: int = 0
    recurring_minor: int = 0
    fees_minor: int = 0
    refunds_minor: int = 0
    disputes_minor: int = 0
    payments: int = 0

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.fees_minor - self.refunds_minor - self.disputes_minor


@dataclass
class CurrencyFigures:
    currency: str
    periods: dict[str, PeriodFigures] = field(default_factory=dict)
    average_gift_minor: int = 0
    median_gift_minor: int = 0
    supporters: int = 0
    monthly_recurring_minor: int = 0


@dataclass(frozen=True)
class PledgeCounts:
    active: int = 0
    paused: int = 0
    past_due: int = 0
    new_this_month: int = 0
    cancelled_this_month: int = 0


@dataclass(frozen=True)
class Headline:
    periods: list[Period]
    currencies: list[CurrencyFigures]
    supporters: int
    pledges: PledgeCounts


def _sum_if(condition, value):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


# --- Headline figures from the roll-ups ----------------------------------------------------
#
# The roll-ups (fundraiser.models.rollup) are kept in step with the ledger in the same
# transaction, so they give the same figures as summing the ledger, without reading it:
# "all time" comes from ledger_totals, a period's whole quarter hours from
# ledger_quarter_hours, and the few minutes before a period's first whole quarter hour (the
# rolling 7 and 30 days start mid-quarter) from the ledger itself, by its time index.


@dataclass(frozen=True)
class _Sums:
    """The columns of a ledger-shaped source that the period figures add up."""

    table: Any
    kind: Any
    frequency: Any
    amount: Any
    fee: Any
    entries: Any


def _rollup_sums(model) -> _Sums:
    return _Sums(
        model, model.kind, model.frequency, model.amount_minor, model.fee_minor, model.entries
    )


_TOTALS = _rollup_sums(LedgerTotal)
_QUARTERS = _rollup_sums(LedgerQuarterHour)
_LEDGER = _Sums(
    LedgerEntry,
    LedgerEntry.kind,
    LedgerEntry.frequency,
    LedgerEntry.amount_minor,
    func.coalesce(LedgerEntry.fee_minor, 0),
    literal(1),
)
_FIGURES_WIDTH = len(fields(PeriodFigures))


def _period_columns(source: _Sums, in_period) -> list:
    """PeriodFigures' fields, in order, as conditional sums over `source`."""
    kind = source.kind
    payment = and_(in_period, kind == EntryKind.PAYMENT.value)
    return [
        _sum_if(payment, source.amount),
        _sum_if(and_(payment, source.frequency == ONE_OFF), source.amount),
        _sum_if(and_(payment, source.frequency != ONE_OFF), source.amount),
        _sum_if(in_period, source.fee),
        _sum_if(and_(in_period, kind == EntryKind.REFUND.value), -source.amount),
        _sum_if(and_(in_period, kind.in_(DISPUTE_KINDS)), -source.amount),
        _sum_if(payment, source.entries),
    ]


def _campaign_filter(campaign_id: int | None, table: Any = LedgerEntry):
    return true() if campaign_id is None else table.campaign_id == campaign_id


def _add_sums(
    totals: dict[str, list[int]], source: _Sums, conditions: list, where, campaign_id
) -> None:
    """Add `source`'s sums under each period's condition into totals[currency]."""
    columns = [column for condition in conditions for column in _period_columns(source, condition)]
    query = (
        select(source.table.currency, *columns)
        .where(where, _campaign_filter(campaign_id, source.table))
        .group_by(source.table.currency)
    )
    for currency, *values in db.session.execute(query):
        cell = totals.setdefault(currency, [0] * len(columns))
        for index, value in enumerate(values):
            cell[index] += int(value)


def period_figures(
    periods: list[Period], campaign_id: int | None = None
) -> dict[str, dict[str, PeriodFigures]]:
    """{currency: {period key: figures}}: one small query per source (see above)."""
    first_whole = {p.key: first_quarter_from(p.start) for p in periods if p.start is not None}
    edges = {
        p.key: (p.start, quarter_start(first_whole[p.key]))
        for p in periods
        if p.start is not None and quarter_start(first_whole[p.key]) != p.start
    }
    totals: dict[str, list[int]] = {}
    if any(p.start is None for p in periods):
        all_time = [true() if p.start is None else false() for p in periods]
        _add_sums(totals, _TOTALS, all_time, true(), campaign_id)
    if first_whole:
        whole = [
            false() if p.start is None else LedgerQuarterHour.quarter >= first_whole[p.key]
            for p in periods
        ]
        since = LedgerQuarterHour.quarter >= min(first_whole.values())
        _add_sums(totals, _QUARTERS, whole, since, campaign_id)
    if edges:
        at = LedgerEntry.occurred_at
        windows = {key: and_(at >= start, at < end) for key, (start, end) in edges.items()}
        in_edge = [windows.get(p.key, false()) for p in periods]
        # Every kind named, so PostgreSQL walks ix_ledger_kind_time for each one.
        where = and_(LedgerEntry.kind.in_(list(EntryKind)), or_(*windows.values()))
        _add_sums(totals, _LEDGER, in_edge, where, campaign_id)
    width = _FIGURES_WIDTH
    return {
        currency: {
            period.key: PeriodFigures(*numbers[i * width : (i + 1) * width])
            for i, period in enumerate(periods)
        }
        for currency, numbers in sorted(totals.items())
    }


def supporter_counts(campaign_id: int | None = None) -> tuple[int, dict[str, int]]:
    """Distinct donors overall and per currency (payments only; an erased email counts once
    per payment): rows of ledger_donors."""
    where = _campaign_filter(campaign_id, LedgerDonor)
    distinct_donors = func.count(func.distinct(LedgerDonor.donor_key))
    overall = db.session.scalar(select(distinct_donors).where(where))
    rows = db.session.execute(
        select(LedgerDonor.currency, distinct_donors).where(where).group_by(LedgerDonor.currency)
    )
    return int(overall or 0), {currency: int(count) for currency, count in rows}


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves up, without floats."""
    if denominator == 0:
        return 0
    return (2 * numerator + denominator) // (2 * denominator)


def gift_stats(campaign_id: int | None = None) -> dict[str, tuple[int, int, int]]:
    """{currency: (count, average, median)} of payments, in minor units rounded half up."""
    rows = db.session.execute(
        select(
            LedgerTotal.currency, func.sum(LedgerTotal.entries), func.sum(LedgerTotal.amount_minor)
        )
        .where(
            LedgerTotal.kind == EntryKind.PAYMENT.value,
            _campaign_filter(campaign_id, LedgerTotal),
        )
        .group_by(LedgerTotal.currency)
    ).all()
    medians = _medians(campaign_id)
    return {
        currency: (int(count), round_half_up(int(total), int(count)), medians.get(currency, 0))
        for currency, count, total in rows
    }


def _medians(campaign_id: int | None) -> dict[str, int]:
    """The exact median payment per currency, from how many payments there were of each amount:
    the middle one, or the two middle ones averaged (as percentile_cont(0.5) does)."""
    amounts = LedgerGiftAmount.amount_minor
    rows = db.session.execute(
        select(LedgerGiftAmount.currency, amounts, func.sum(LedgerGiftAmount.payments))
        .where(_campaign_filter(campaign_id, LedgerGiftAmount))
        .group_by(LedgerGiftAmount.currency, amounts)
        .order_by(LedgerGiftAmount.currency, amounts)
    )
    histograms: dict[str, list[tuple[int, int]]] = {}
    for currency, amount, payments in rows:
        histograms.setdefault(currency, []).append((int(amount), int(payments)))
    return {currency: _median(histogram) for currency, histogram in histograms.items()}


def _median(histogram: list[tuple[int, int]]) -> int:
    """The median of ascending (amount, how many) pairs, rounded half up."""
    count = sum(n for _, n in histogram)
    if count == 0:
        return 0
    middle = ((count - 1) // 2, count // 2)  # 0-based; the same position when count is odd
    found, seen = [], 0
    for amount, n in histogram:
        found += [amount for position in middle if seen <= position < seen + n]
        seen += n
    return round_half_up(sum(found), 2)


def monthly_recurring_revenue(campaign_id: int | None = None) -> dict[str, int]:
    """Active pledges' monthly value per currency; a yearly pledge counts a twelfth (rounded down,
    as Pledge.monthly_minor does)."""
    monthly = case(
        (Pledge.interval == "year", Pledge.amount_minor // 12), else_=Pledge.amount_minor
    )
    query = (
        select(Pledge.currency, func.sum(monthly))
        .where(Pledge.status == PledgeStatus.ACTIVE.value)
        .group_by(Pledge.currency)
    )
    if campaign_id is not None:
        query = query.where(Pledge.campaign_id == campaign_id)
    return {currency: int(total) for currency, total in db.session.execute(query)}


def pledge_counts(campaign_id: int | None = None, now: datetime | None = None) -> PledgeCounts:
    since = month_start(now)
    status = Pledge.status

    def count_if(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = select(
        count_if(status == PledgeStatus.ACTIVE.value),
        count_if(status == PledgeStatus.PAUSED.value),
        count_if(status == PledgeStatus.PAST_DUE.value),
        count_if(and_(Pledge.created_at >= since, status != PledgeStatus.INCOMPLETE.value)),
        count_if(and_(status == PledgeStatus.CANCELLED.value, Pledge.cancelled_at >= since)),
    )
    if campaign_id is not None:
        query = query.where(Pledge.campaign_id == campaign_id)
    return PledgeCounts(*(int(v) for v in db.session.execute(query).one()))


def headline(campaign_id: int | None = None, now: datetime | None = None) -> Headline:
    """Everything in the dashboard's headline block, per currency where it is money."""
    periods = headline_periods(now)
    by_currency = period_figures(periods, campaign_id)
    overall, per_currency_donors = supporter_counts(campaign_id)
    stats = gift_stats(campaign_id)
    mrr = monthly_recurring_revenue(campaign_id)
    currencies = []
    for currency in sorted(set(by_currency) | set(mrr)):
        _, average, median = stats.get(currency, (0, 0, 0))
        currencies.append(
            CurrencyFigures(
                currency=currency,
                periods=by_currency.get(currency, {p.key: PeriodFigures() for p in periods}),
                average_gift_minor=average,
                median_gift_minor=median,
                supporters=per_currency_donors.get(currency, 0),
                monthly_recurring_minor=mrr.get(currency, 0),
            )
        )
    return Headline(periods, currencies, overall, pledge_counts(campaign_id, now))


# --- Daily totals for the chart -------------------------------------------------------------


@dataclass(frozen=True)
class DayTotal:
    day: date
    one_off_minor: int
    recurring_minor: int

    @property
    def total_minor(self) -> int:
        return self.one_off_minor + self.recurring_minor


def daily_totals(
    first: date, last: date, campaign_id: int | None = None
) -> dict[str, list[DayTotal]]:
    """Payments per local day and currency, split one-off/recurring, every day of the range.

    Summed per UTC quarter hour from the roll-up and folded into local days here: a quarter
    hour never straddles a local midnight (see QUARTER_SECONDS), so this is exact.
    """
    zone = reporting_zone()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    # The first quarter hour of each day, and of the day after the range.
    starts = [quarter_of(local_midnight(day, zone)) for day in [*days, last + timedelta(days=1)]]
    is_one_off = LedgerQuarterHour.frequency == ONE_OFF
    query = (
        select(
            LedgerQuarterHour.currency,
            LedgerQuarterHour.quarter,
            _sum_if(is_one_off, LedgerQuarterHour.amount_minor),
            _sum_if(~is_one_off, LedgerQuarterHour.amount_minor),
        )
        .where(
            LedgerQuarterHour.quarter >= starts[0],
            LedgerQuarterHour.quarter < starts[-1],
            LedgerQuarterHour.kind == EntryKind.PAYMENT.value,
            _campaign_filter(campaign_id, LedgerQuarterHour),
        )
        .group_by(LedgerQuarterHour.currency, LedgerQuarterHour.quarter)
    )
    sums: dict[str, list[list[int]]] = {}
    for currency, quarter, one_off, recurring in db.session.execute(query):
        cells = sums.setdefault(currency, [[0, 0] for _ in days])
        cell = cells[bisect_right(starts, quarter) - 1]
        cell[0] += int(one_off)
        cell[1] += int(recurring)
    return {
        currency: [DayTotal(day, *cell) for day, cell in zip(days, cells, strict=True)]
        for currency, cells in sorted(sums.items())
    }


def top_days(campaign: Campaign, limit: int = 5) -> list[DayTotal]:
    """The campaign's best local days in its own currency, from its first gift to today."""
    first_quarter = db.session.scalar(
        select(func.min(LedgerQuarterHour.quarter)).where(
            LedgerQuarterHour.campaign_id == campaign.id,
            LedgerQuarterHour.kind == EntryKind.PAYMENT.value,
        )
    )
    if first_quarter is None:
        return []
    zone = reporting_zone()
    first = quarter_start(first_quarter).astimezone(zone).date()
    last = max(utcnow().astimezone(zone).date(), first)
    days = daily_totals(first, last, campaign.id).get(campaign.currency, [])
    ranked = sorted((d for d in days if d.total_minor), key=lambda d: (-d.total_minor, d.day))
    return ranked[:limit]


# --- Click-throughs to the other channels ---------------------------------------------------


@dataclass(frozen=True)
class ClickRow:
    slug: str
    title: str
    paypal: int
    patreon: int
    paypal_30d: int
    patreon_30d: int


def click_throughs(now: datetime | None = None) -> list[ClickRow]:
    """PayPal and Patreon clicks per campaign (as counted by /out/*), all time and 30 days."""
    since = ((now or utcnow()) - timedelta(days=30)).date()
    recent = OutboundClick.day >= since
    channel = OutboundClick.channel
    query = (
        select(
            Campaign.slug,
            Campaign.title,
            _sum_if(channel == "paypal", OutboundClick.clicks),
            _sum_if(channel == "patreon", OutboundClick.clicks),
            _sum_if(and_(channel == "paypal", recent), OutboundClick.clicks),
            _sum_if(and_(channel == "patreon", recent), OutboundClick.clicks),
        )
        .select_from(Campaign)
        .outerjoin(OutboundClick, OutboundClick.campaign_id == Campaign.id)
        .group_by(Campaign.id, Campaign.slug, Campaign.title)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    return [ClickRow(s, t, *(int(v) for v in rest)) for s, t, *rest in db.session.execute(query)]


def recent_payments(campaign_id: int | None = None, limit: int = 10) -> list[LedgerEntry]:
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.kind == EntryKind.PAYMENT.value, _campaign_filter(campaign_id))
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
