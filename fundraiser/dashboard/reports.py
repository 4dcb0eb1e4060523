"""The figures on /staff: ledger sums per currency (from the roll-ups), pledges, gifts, donors
and clicks, in SQL."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    Integer,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    true,
)

from fundraiser import rates
from fundraiser.cache import get_cache
from fundraiser.dashboard.periods import (
    Period,
    headline_periods,
    local_midnight,
    month_start,
    reporting_zone,
)
from fundraiser.database import rows_of_all
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    EntryKind,
    LedgerDonor,
    LedgerDonorKey,
    LedgerEntry,
    LedgerGiftAmount,
    LedgerQuarterHour,
    LedgerTotal,
    OutboundClick,
    Pledge,
    PledgeStatus,
    utcnow,
)
from fundraiser.models.rollup import (
    ANY_CURRENCY,
    QUARTER_SECONDS,
    first_quarter_from,
    quarter_of,
    quarter_start,
)

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
class Combined:
    """Every currency's all-time net raised, counted in the settlement currency."""

    currency: str
    raised_minor: int
    #: The reference rates' day, when some currency had to be converted with them.
    rate_date: str | None


@dataclass(frozen=True)
class Headline:
    periods: list[Period]
    currencies: list[CurrencyFigures]
    supporters: int
    pledges: PledgeCounts
    combined: Combined | None = None


def combined_figure(campaign_id: int | None = None) -> Combined:
    """One figure for all currencies, in the account's settlement currency."""
    settlement = current_app.config["SETTLEMENT_CURRENCY"]
    where = [] if campaign_id is None else [LedgerTotal.campaign_id == campaign_id]
    raised, rate_date = rates.total_in(settlement, rates.currency_sums(*where), settlement)
    return Combined(settlement, raised, rate_date)


def sum_if(condition, value=1):
    """SUM of `value` over the rows where `condition` holds (a count with the default), 0 when
    none do."""
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def monthly_value():
    """A pledge's monthly value: a yearly pledge counts a twelfth of its amount (rounded down,
    as Pledge.monthly_minor does)."""
    return case((Pledge.interval == "year", Pledge.amount_minor // 12), else_=Pledge.amount_minor)


# --- Headline figures from the roll-ups ----------------------------------------------------
#
# The roll-ups (fundraiser.models.rollup) are kept in step with the ledger in the same
# transaction, so they give the same figures as summing the ledger, without reading it:
# "all time" comes from ledger_totals, a period's whole quarter hours from
# ledger_quarter_hours, and the few minutes before a period's first whole quarter hour (the
# rolling 7 and 30 days start mid-quarter) from the ledger itself, by its time index.


def _campaign_filter(campaign_id: int | None, table: Any = LedgerEntry):
    return true() if campaign_id is None else table.campaign_id == campaign_id


def _grouped_sums(table, entries, fee, *where, band=None) -> Select:
    """(currency, kind, frequency[, band], entries, amount, fee) rows of a ledger-shaped table."""
    groups = [table.currency, table.kind, table.frequency, *([band] if band is not None else [])]
    sums = [func.sum(entries), func.sum(table.amount_minor), func.sum(fee)]
    return select(*groups, *sums).where(*where).group_by(*groups)


def _add(figures: list[int], kind: str, frequency: str, entries, amount, fee) -> None:
    """Add one group of ledger rows to PeriodFigures' fields (outflows as positive numbers)."""
    amount = int(amount)
    if kind == EntryKind.PAYMENT.value:
        figures[0] += amount
        figures[1 if frequency == ONE_OFF else 2] += amount
        figures[6] += int(entries)
    elif kind == EntryKind.REFUND.value:
        figures[4] -= amount
    elif kind in DISPUTE_KINDS:
        figures[5] -= amount
    figures[3] += int(fee)


def period_figures(
    periods: list[Period], campaign_id: int | None = None
) -> dict[str, dict[str, PeriodFigures]]:
    """{currency: {period key: figures}}, from one statement of up to four parts (see above),
    each row tagged with what it adds to: ALL_TIME, a quarter-hour band's first quarter (≥ 0),
    or the first minutes of the period at FIRST_MINUTES - n."""
    sums: dict[str, dict[str, list[int]]] = {}
    all_time = [p.key for p in periods if p.start is None]
    starting = [p for p in periods if p.start is not None]
    first = {p.key: first_quarter_from(p.start) for p in starting}
    parts = []
    if all_time:
        parts.append(
            _tagged_sums(
                LedgerTotal,
                LedgerTotal.entries,
                LedgerTotal.fee_minor,
                ALL_TIME,
                _campaign_filter(campaign_id, LedgerTotal),
            )
        )
    if starting:
        parts.append(_quarter_hour_bands(sorted(set(first.values()), reverse=True), campaign_id))
    parts += [
        _first_minutes(FIRST_MINUTES - number, period, campaign_id)
        for number, period in enumerate(starting)
        if quarter_start(first[period.key]) != period.start
    ]
    for currency, kind, frequency, tag, *values in rows_of_all(parts):
        if currency not in sums:
            sums[currency] = {p.key: [0] * len(fields(PeriodFigures)) for p in periods}
        if tag == ALL_TIME:
            keys = all_time
        elif tag >= 0:  # a band: rows on or after its first quarter count in every period
            keys = [key for key, start in first.items() if tag >= start]
        else:
            keys = [starting[FIRST_MINUTES - tag].key]
        for key in keys:
            _add(sums[currency][key], kind, frequency, *values)
    return {
        currency: {key: PeriodFigures(*figures) for key, figures in cells.items()}
        for currency, cells in sorted(sums.items())
    }


#: period_figures' tags: the all-time part, and the first minutes of period n (FIRST_MINUTES - n).
ALL_TIME = -1
FIRST_MINUTES = -2


def _tagged_sums(table, entries, fee, tag: int, *where) -> Select:
    """(currency, kind, frequency, tag, entries, amount, fee) rows of a ledger-shaped table: the
    tag, a number written into the SQL, says which period or window the row belongs to."""
    groups = [table.currency, table.kind, table.frequency]
    sums = [func.sum(entries), func.sum(table.amount_minor), func.sum(fee)]
    return select(*groups, literal_column(str(tag)), *sums).where(*where).group_by(*groups)


def _quarter_hour_bands(starts: list[int], campaign_id: int | None) -> Select:
    """Whole quarter hours from each period's first one on. Periods are nested (each runs to
    now), so rows are grouped by band: the latest period start they are on or after."""
    quarter = LedgerQuarterHour.quarter
    # Numbers written into the SQL: GROUP BY must repeat the CASE exactly (see rollups).
    written = {start: literal_column(str(int(start))) for start in starts}
    band = case(*((quarter >= written[start], written[start]) for start in starts))
    return _grouped_sums(
        LedgerQuarterHour,
        LedgerQuarterHour.entries,
        LedgerQuarterHour.fee_minor,
        quarter >= starts[-1],
        _campaign_filter(campaign_id, LedgerQuarterHour),
        band=band,
    )


def _first_minutes(tag: int, period: Period, campaign_id: int | None) -> Select:
    """The ledger rows between a period's start and its first whole quarter hour."""
    at = LedgerEntry.occurred_at
    return _tagged_sums(
        LedgerEntry,
        literal(1),
        func.coalesce(LedgerEntry.fee_minor, 0),
        tag,
        # Every kind named, so PostgreSQL walks ix_ledger_kind_time once per kind.
        LedgerEntry.kind.in_(list(EntryKind)),
        at >= period.start,
        at < quarter_start(first_quarter_from(period.start)),
        _campaign_filter(campaign_id),
    )


def supporter_counts(campaign_id: int | None = None) -> tuple[int, dict[str, int]]:
    """Distinct donors overall and per currency (payments only; an erased email counts once
    per payment). All campaigns: a count per currency of the donor-key roll-up's rows (a scan
    of every donor, so reused for OVERVIEW_CACHE_SECONDS); one campaign: distinct keys among
    its (fewer) donor rows."""
    if campaign_id is None:
        pairs = shared_counts("headline-supporters", _count_donor_keys)
        counts = dict(zip(pairs[::2], pairs[1::2], strict=True))
        return counts.pop(ANY_CURRENCY, 0), counts
    where = LedgerDonor.campaign_id == campaign_id
    distinct_donors = func.count(func.distinct(LedgerDonor.donor_key))
    overall = db.session.scalar(select(distinct_donors).where(where))
    rows = db.session.execute(
        select(LedgerDonor.currency, distinct_donors).where(where).group_by(LedgerDonor.currency)
    )
    return int(overall or 0), {currency: int(count) for currency, count in rows}


def _count_donor_keys() -> list:
    """[currency, donors, …] from the donor-key roll-up (a flat list, as the cache keeps it)."""
    rows = db.session.execute(
        select(LedgerDonorKey.currency, func.count()).group_by(LedgerDonorKey.currency)
    )
    return [value for currency, count in rows for value in (currency, int(count))]


def shared_counts(key: str, count: Callable[[], list]) -> list:
    """`count()`, reused from the shared cache for OVERVIEW_CACHE_SECONDS (0: always counted):
    for counts that scan every donor or a whole period's payments."""
    fresh_for = float(current_app.config["OVERVIEW_CACHE_SECONDS"])
    if fresh_for <= 0:
        return count()
    [cached] = get_cache().get_many([key])
    if isinstance(cached, list):
        return cached
    counts = count()
    get_cache().set(key, counts, fresh_for)
    return counts


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


def pledge_figures(
    campaign_id: int | None = None, now: datetime | None = None
) -> tuple[dict[str, int], PledgeCounts]:
    """({currency: active pledges' monthly value}, the pledge counts), from one pass over the
    pledges."""
    since = month_start(now)
    status = Pledge.status
    query = select(
        Pledge.currency,
        sum_if(status == PledgeStatus.ACTIVE.value, monthly_value()),
        sum_if(status == PledgeStatus.ACTIVE.value),
        sum_if(status == PledgeStatus.PAUSED.value),
        sum_if(status == PledgeStatus.PAST_DUE.value),
        sum_if(and_(Pledge.created_at >= since, status != PledgeStatus.INCOMPLETE.value)),
        sum_if(and_(status == PledgeStatus.CANCELLED.value, Pledge.cancelled_at >= since)),
    ).group_by(Pledge.currency)
    if campaign_id is not None:
        query = query.where(Pledge.campaign_id == campaign_id)
    mrr, counts = {}, [0] * len(fields(PledgeCounts))
    for currency, monthly_minor, *currency_counts in db.session.execute(query):
        if currency_counts[0]:  # a currency with active pledges
            mrr[currency] = int(monthly_minor)
        counts = [total + int(n) for total, n in zip(counts, currency_counts, strict=True)]
    return mrr, PledgeCounts(*counts)


def headline(campaign_id: int | None = None, now: datetime | None = None) -> Headline:
    """Everything in the dashboard's headline block, per currency where it is money."""
    periods = headline_periods(now)
    by_currency = period_figures(periods, campaign_id)
    overall, per_currency_donors = supporter_counts(campaign_id)
    medians = _medians(campaign_id)
    mrr, pledges = pledge_figures(campaign_id, now)
    empty = {p.key: PeriodFigures() for p in periods}
    currencies = []
    for currency in sorted(set(by_currency) | set(mrr)):
        figures = by_currency.get(currency, empty)
        # "all" is ledger_totals' payments, what gift_stats would read again.
        every = figures.get("all") or PeriodFigures()
        currencies.append(
            CurrencyFigures(
                currency=currency,
                periods=figures,
                average_gift_minor=round_half_up(every.gross_minor, every.payments),
                median_gift_minor=medians.get(currency, 0),
                supporters=per_currency_donors.get(currency, 0),
                monthly_recurring_minor=mrr.get(currency, 0),
            )
        )
    return Headline(periods, currencies, overall, pledges, combined_figure(campaign_id))


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

    Summed per UTC quarter hour from the roll-up and grouped into local days in SQL: a
    quarter hour never straddles a local midnight (see QUARTER_SECONDS), so this is exact.
    """
    zone = reporting_zone()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    # The first quarter hour of each day, and of the day after the range.
    starts = [quarter_of(local_midnight(day, zone)) for day in [*days, last + timedelta(days=1)]]
    is_one_off = LedgerQuarterHour.frequency == ONE_OFF
    day = _day_number(LedgerQuarterHour.quarter, starts)
    query = (
        select(
            LedgerQuarterHour.currency,
            day,
            sum_if(is_one_off, LedgerQuarterHour.amount_minor),
            sum_if(~is_one_off, LedgerQuarterHour.amount_minor),
        )
        .where(
            LedgerQuarterHour.quarter >= starts[0],
            LedgerQuarterHour.quarter < starts[-1],
            LedgerQuarterHour.kind == EntryKind.PAYMENT.value,
            _campaign_filter(campaign_id, LedgerQuarterHour),
        )
        .group_by(LedgerQuarterHour.currency, day)
    )
    sums: dict[str, list[list[int]]] = {}
    for currency, number, one_off, recurring in db.session.execute(query):
        if currency not in sums:
            sums[currency] = [[0, 0] for _ in days]
        cell = sums[currency][int(number)]
        cell[0] += int(one_off)
        cell[1] += int(recurring)
    return {
        currency: [DayTotal(day, *cell) for day, cell in zip(days, cells, strict=True)]
        for currency, cells in sorted(sums.items())
    }


#: Quarter hours in a day without a clock change.
DAY_QUARTERS = 24 * 3600 // QUARTER_SECONDS


def _day_number(quarter, starts: list[int]):
    """The number of the day (0 = the first) a quarter hour is in, as SQL, given each day's
    first quarter hour and the day after the last's (rows outside are filtered out).

    Days of 24 hours in a row are one run, numbered by integer division; a day the clocks
    change is a run of its own. So a CASE of a few branches (one per clock change in the
    range, and the run after it), not one per day, for PostgreSQL and SQLite alike. The
    numbers are written into the SQL: GROUP BY must repeat the expression exactly (see
    rollups._quarter_expressions)."""
    runs: list[tuple[int, int, bool]] = []  # (first quarter, day number, of whole days)
    for number, (start, end) in enumerate(itertools.pairwise(starts)):
        whole = end - start == DAY_QUARTERS
        if not runs or not (whole and runs[-1][2]):
            runs.append((start, number, whole))

    def written(n: int):
        return literal_column(str(int(n)), Integer)

    branches = []
    for start, number, whole in reversed(runs):
        days_in = (quarter - written(start)) // written(DAY_QUARTERS) if whole else written(0)
        branches.append((quarter >= written(start), days_in + written(number)))
    return case(*branches)


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
            sum_if(channel == "paypal", OutboundClick.clicks),
            sum_if(channel == "patreon", OutboundClick.clicks),
            sum_if(and_(channel == "paypal", recent), OutboundClick.clicks),
            sum_if(and_(channel == "patreon", recent), OutboundClick.clicks),
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
