"""The figures on /staff: ledger sums per currency, pledges, gifts, donors and clicks, in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, case, func, literal_column, select, true

from fundraiser.dashboard.periods import (
    Period,
    day_range_bounds,
    headline_periods,
    month_start,
    reporting_zone,
)
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    EntryKind,
    LedgerEntry,
    OutboundClick,
    Pledge,
    PledgeStatus,
    utcnow,
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
class Headline:
    periods: list[Period]
    currencies: list[CurrencyFigures]
    supporters: int
    pledges: PledgeCounts


def _sum_if(condition, value):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _period_columns(period: Period) -> list:
    in_period = true() if period.start is None else LedgerEntry.occurred_at >= period.start
    kind = LedgerEntry.kind
    payment = and_(in_period, kind == EntryKind.PAYMENT.value)
    return [
        _sum_if(payment, LedgerEntry.amount_minor),
        _sum_if(and_(payment, LedgerEntry.frequency == ONE_OFF), LedgerEntry.amount_minor),
        _sum_if(and_(payment, LedgerEntry.frequency != ONE_OFF), LedgerEntry.amount_minor),
        _sum_if(in_period, func.coalesce(LedgerEntry.fee_minor, 0)),
        _sum_if(and_(in_period, kind == EntryKind.REFUND.value), -LedgerEntry.amount_minor),
        _sum_if(and_(in_period, kind.in_(DISPUTE_KINDS)), -LedgerEntry.amount_minor),
        _sum_if(payment, 1),
    ]


def _campaign_filter(campaign_id: int | None):
    return true() if campaign_id is None else LedgerEntry.campaign_id == campaign_id


def period_figures(
    periods: list[Period], campaign_id: int | None = None
) -> dict[str, dict[str, PeriodFigures]]:
    """{currency: {period key: figures}} in one pass over the ledger (conditional sums)."""
    columns = [column for period in periods for column in _period_columns(period)]
    query = (
        select(LedgerEntry.currency, *columns)
        .where(_campaign_filter(campaign_id))
        .group_by(LedgerEntry.currency)
        .order_by(LedgerEntry.currency)
    )
    width = len(_period_columns(periods[0])) if periods else 0
    result: dict[str, dict[str, PeriodFigures]] = {}
    for currency, *values in db.session.execute(query):
        numbers = [int(v) for v in values]
        result[currency] = {
            period.key: PeriodFigures(*numbers[i * width : (i + 1) * width])
            for i, period in enumerate(periods)
        }
    return result


def _donor_key():
    # A donor whose email was erased still counts once, by their payment.
    return func.coalesce(LedgerEntry.donor_email, LedgerEntry.payment_ref)


def supporter_counts(campaign_id: int | None = None) -> tuple[int, dict[str, int]]:
    """Distinct donors overall and per currency (payments only)."""
    where = and_(LedgerEntry.kind == EntryKind.PAYMENT.value, _campaign_filter(campaign_id))
    overall = db.session.scalar(select(func.count(func.distinct(_donor_key()))).where(where))
    rows = db.session.execute(
        select(LedgerEntry.currency, func.count(func.distinct(_donor_key())))
        .where(where)
        .group_by(LedgerEntry.currency)
    )
    return int(overall or 0), {currency: int(count) for currency, count in rows}


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves up, without floats."""
    if denominator == 0:
        return 0
    return (2 * numerator + denominator) // (2 * denominator)


def gift_stats(campaign_id: int | None = None) -> dict[str, tuple[int, int, int]]:
    """{currency: (count, average, median)} of payments, in minor units rounded half up."""
    where = and_(LedgerEntry.kind == EntryKind.PAYMENT.value, _campaign_filter(campaign_id))
    rows = db.session.execute(
        select(LedgerEntry.currency, func.count(), func.sum(LedgerEntry.amount_minor))
        .where(where)
        .group_by(LedgerEntry.currency)
    ).all()
    medians = _medians(where, {currency: int(count) for currency, count, _ in rows})
    return {
        currency: (int(count), round_half_up(int(total), int(count)), medians.get(currency, 0))
        for currency, count, total in rows
    }


def _medians(where, counts: dict[str, int]) -> dict[str, int]:
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(
            select(
                LedgerEntry.currency,
                func.percentile_cont(0.5).within_group(LedgerEntry.amount_minor),
            )
            .where(where)
            .group_by(LedgerEntry.currency)
        )
        # percentile_cont answers in double precision: a whole number or a half, exactly.
        return {
            currency: int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            for currency, value in rows
        }
    return {currency: _portable_median(where, currency, n) for currency, n in counts.items()}


def _portable_median(where, currency: str, count: int) -> int:
    """The middle one or two amounts by ORDER BY … LIMIT/OFFSET (SQLite has no percentile)."""
    if count == 0:
        return 0
    middle = list(
        db.session.scalars(
            select(LedgerEntry.amount_minor)
            .where(where, LedgerEntry.currency == currency)
            .order_by(LedgerEntry.amount_minor)
            .offset((count - 1) // 2)
            .limit(1 if count % 2 else 2)
        )
    )
    return round_half_up(sum(middle), len(middle))


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


def _local_day_bucket():
    """A SQL expression naming each row's local day (PostgreSQL) or its UTC quarter hour (SQLite).

    SQLite has no time zones, so rows are grouped by UTC quarter hour (every real UTC
    offset is a whole number of quarter hours) and folded into local days in Python; the
    number of groups depends on the range, not on how many rows the ledger holds.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        zone = reporting_zone().key
        return func.to_char(func.timezone(zone, LedgerEntry.occurred_at), "YYYY-MM-DD"), False
    minute = func.cast(func.strftime("%M", LedgerEntry.occurred_at), db.Integer)
    quarter = func.printf("%02d", (minute // 15) * 15, type_=db.String)
    hour = func.strftime("%Y-%m-%d %H:", LedgerEntry.occurred_at, type_=db.String)
    return hour.concat(quarter), True


def daily_totals(
    first: date, last: date, campaign_id: int | None = None
) -> dict[str, list[DayTotal]]:
    """Payments per local day and currency, split one-off/recurring, every day of the range."""
    start, end = day_range_bounds(first, last)
    bucket, needs_folding = _local_day_bucket()
    is_one_off = LedgerEntry.frequency == ONE_OFF
    query = (
        select(
            LedgerEntry.currency,
            bucket.label("bucket"),
            _sum_if(is_one_off, LedgerEntry.amount_minor),
            _sum_if(~is_one_off, LedgerEntry.amount_minor),
        )
        .where(
            LedgerEntry.kind == EntryKind.PAYMENT.value,
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
            _campaign_filter(campaign_id),
        )
        # By the label: PostgreSQL would not match a repeated expression with its own parameters.
        .group_by(LedgerEntry.currency, literal_column("bucket"))
    )
    zone = reporting_zone()
    sums: dict[str, dict[date, list[int]]] = {}
    for currency, key, one_off, recurring in db.session.execute(query):
        if needs_folding:
            instant = datetime.strptime(key, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            day = instant.astimezone(zone).date()
        else:
            day = date.fromisoformat(key)
        cell = sums.setdefault(currency, {}).setdefault(day, [0, 0])
        cell[0] += int(one_off)
        cell[1] += int(recurring)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        currency: [DayTotal(d, *per_day.get(d, (0, 0))) for d in days]
        for currency, per_day in sorted(sums.items())
    }


def top_days(campaign: Campaign, limit: int = 5) -> list[DayTotal]:
    """The campaign's best local days in its own currency, from its first gift to today."""
    first_at = db.session.scalar(
        select(func.min(LedgerEntry.occurred_at)).where(
            LedgerEntry.campaign_id == campaign.id, LedgerEntry.kind == EntryKind.PAYMENT.value
        )
    )
    if first_at is None:
        return []
    zone = reporting_zone()
    first = first_at.astimezone(zone).date()
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
