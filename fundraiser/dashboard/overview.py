"""The overview: a period's money, people and pledges per currency, against the same point a
month earlier, and every open campaign's progress."""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Select, and_, case, func, literal, select

from fundraiser import rates
from fundraiser.campaigns import services as campaigns
from fundraiser.campaigns.services import Totals
from fundraiser.dashboard.channels import LABELS as CHANNEL_LABELS
from fundraiser.dashboard.channels import channel_label, channel_names
from fundraiser.dashboard.periods import local_midnight, reporting_zone
from fundraiser.dashboard.reports import (
    PeriodFigures,
    _add,
    _tagged_sums,
    monthly_value,
    shared_counts,
    sum_if,
)
from fundraiser.database import rows_of_all
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    Channel,
    EntryKind,
    LedgerEntry,
    LedgerQuarterChannel,
    LedgerQuarterHour,
    Pledge,
    PledgeStatus,
    utcnow,
)
from fundraiser.models.rollup import first_quarter_from, quarter_of, quarter_start
from fundraiser.rates import CurrencySum

#: Channels in the order staff read them (the labels' order).
CHANNEL_ORDER = {channel: n for n, channel in enumerate(CHANNEL_LABELS)}

#: The periods staff can choose, in the order the form lists them.
PERIODS = {
    "month": "This month",
    "last_month": "Last month",
    "ytd": "Year to date",
    "range": "Custom range",
}


@dataclass(frozen=True)
class Window:
    """A stretch of reporting time: local days `first`..`last`, as UTC instants [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ChosenPeriod:
    key: str
    label: str
    current: Window
    #: The same stretch one month earlier (a year for "year to date"), up to the same point.
    previous: Window


def _shift_months(day: date, months: int) -> date:
    """The same day `months` later (negative: earlier), the month's last day if it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local_instant(day: date, at: time, zone) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def days_window(first: date, last: date, zone, end: datetime | None = None) -> Window:
    """Whole local days first..last, or up to `end` when the last day is still going on."""
    start = local_midnight(first, zone)
    return Window(first, last, start, end or local_midnight(last + timedelta(days=1), zone))


def _to_same_point(current: Window, months: int, zone, now_local: datetime | None) -> Window:
    """`current` moved `months` back; a window that runs to now ends at the same wall time."""
    first = _shift_months(current.first, -months)
    last = _shift_months(current.last, -months)
    if now_local is None:
        return days_window(first, last, zone)
    return days_window(first, last, zone, _local_instant(last, now_local.time(), zone))


def choose_period(
    key: str = "month",
    first: date | None = None,
    last: date | None = None,
    now: datetime | None = None,
) -> ChosenPeriod:
    """The chosen period and its comparison, in the reporting time zone (DST-safe: every
    boundary is a local wall time turned into UTC on its own day).

    A period that includes today runs to the end of today (nothing is booked in the future),
    so it is whole quarter hours of the roll-up; its comparison stops at now's wall time.
    """
    zone = reporting_zone()
    now = now or utcnow()
    today = now.astimezone(zone).date()
    # Comparisons stop at the quarter hour now is in: the roll-up answers them whole, and the
    # window (so its cached people count) stays the same for fifteen minutes.
    now_local = quarter_start(quarter_of(now)).astimezone(zone)
    if key == "last_month":
        month_first = _shift_months(today.replace(day=1), -1)
        month_last = today.replace(day=1) - timedelta(days=1)
        current = days_window(month_first, month_last, zone)
        before = _shift_months(month_first, -1)
        previous = days_window(before, month_first - timedelta(days=1), zone)
    elif key == "ytd":
        current = days_window(today.replace(month=1, day=1), today, zone)
        previous = _to_same_point(current, 12, zone, now_local)
    elif key == "range" and first and last:
        current = days_window(first, last, zone)
        previous = _to_same_point(current, 1, zone, None)
    else:
        key = "month"
        current = days_window(today.replace(day=1), today, zone)
        previous = _to_same_point(current, 1, zone, now_local)
    return ChosenPeriod(key, PERIODS[key], current, previous)


# --- Figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A figure now and at the same point of the comparison period."""

    value: int
    previous: int

    @property
    def change(self) -> int:
        return self.value - self.previous


@dataclass
class CurrencyOverview:
    currency: str
    raised: Figure
    net: Figure
    gifts: Figure
    people: Figure
    new_recurring: Figure
    lost_recurring: Figure
    monthly_recurring: Figure


@dataclass(frozen=True)
class ChannelLine:
    """What one channel raised in one currency (its own units)."""

    channel: str
    label: str
    currency: str
    raised: Figure


@dataclass(frozen=True)
class CombinedOverview:
    """The period's gifts in every currency and channel as one figure in the settlement
    currency (as the campaign totals count them: settled amounts where every row of a
    currency has settled, else the newest reference rates), with each part beneath."""

    currency: str
    raised: Figure
    #: The reference rates' day when some currency had to be converted with them.
    rate_date: str | None
    #: (currency, raised in it) for every currency given in, the settlement currency first.
    currencies: list[tuple[str, Figure]]
    channels: list[ChannelLine]
    #: Currencies left out of the figure for want of a reference rate.
    unconverted: list[str] = field(default_factory=list)


@dataclass
class Overview:
    period: ChosenPeriod
    currencies: list[CurrencyOverview]
    #: Distinct people who gave in the period, whatever the currency.
    people: Figure
    campaigns: list[tuple[Campaign, Totals]] = field(default_factory=list)
    channels: list[str] = field(default_factory=channel_names)
    combined: CombinedOverview | None = None


def money_in(*windows: Window) -> list[dict[str, PeriodFigures]]:
    """[{currency: figures} for each window's [start, end)], from one statement: whole quarter
    hours from the roll-up, the minutes at either edge (only where `end` is now or
    mid-quarter) from the ledger's time index."""

    def whole_quarters(number: int, first_quarter: int, end_quarter: int) -> Select:
        return _tagged_sums(
            LedgerQuarterHour,
            LedgerQuarterHour.entries,
            LedgerQuarterHour.fee_minor,
            number,
            LedgerQuarterHour.quarter >= first_quarter,
            LedgerQuarterHour.quarter < end_quarter,
        )

    parts = _window_parts(windows, whole_quarters, _ledger_sums)
    sums: list[dict[str, list[int]]] = [{} for _ in windows]
    for currency, kind, frequency, number, *values in rows_of_all(parts):
        _add(sums[number].setdefault(currency, [0] * 7), kind, frequency, *values)
    return [
        {currency: PeriodFigures(*values) for currency, values in sorted(found.items())}
        for found in sums
    ]


def _window_parts(windows, whole_quarters, ledger_rows) -> list[Select]:
    """The SELECTs that read each window (marked with its number): whole quarter hours from
    a roll-up (`whole_quarters(number, first, end)`), the minutes before the first and after
    the last from the ledger (`ledger_rows(number, start, end)`, none when empty)."""
    parts = []
    for number, window in enumerate(windows):
        first_quarter, end_quarter = first_quarter_from(window.start), quarter_of(window.end)
        if first_quarter >= end_quarter:
            parts += ledger_rows(number, window.start, window.end)
            continue
        parts.append(whole_quarters(number, first_quarter, end_quarter))
        parts += ledger_rows(number, window.start, quarter_start(first_quarter))
        parts += ledger_rows(number, quarter_start(end_quarter), window.end)
    return parts


def _ledger_sums(number: int, start: datetime, end: datetime) -> list[Select]:
    """The ledger rows in [start, end) as money_in's groups of window `number` (none if empty)."""
    if end <= start:
        return []
    at = LedgerEntry.occurred_at
    # Every kind named, so PostgreSQL walks ix_ledger_kind_time once per kind (as reports does).
    return [
        _tagged_sums(
            LedgerEntry,
            literal(1),
            func.coalesce(LedgerEntry.fee_minor, 0),
            number,
            LedgerEntry.kind.in_(list(EntryKind)),
            at >= start,
            at < end,
        )
    ]


def people_in(window: Window, currencies: list[str]) -> tuple[int, dict[str, int]]:
    """Distinct donors among the window's payments: overall and in each of `currencies` (those
    with payments in it). A donor is their email, or the payment itself once the email is
    erased (as the roll-ups count them). One pass over ix_ledger_payment_donors grouped by
    donor (a hash, not a sort per count), so the cost follows the period, not the ledger;
    repeated within OVERVIEW_CACHE_SECONDS, it is read from the shared cache."""
    if not currencies:
        return 0, {}
    key = f"overview-people:{window.start.timestamp()}:{window.end.timestamp()}:{currencies}"
    counts = shared_counts(key, lambda: _count_people(window, currencies))
    return counts[0], dict(zip(currencies, counts[1:], strict=True))


def _count_people(window: Window, currencies: list[str]) -> list[int]:
    donor = func.coalesce(LedgerEntry.donor_email, LedgerEntry.payment_ref)
    flags = [
        func.max(case((LedgerEntry.currency == code, 1), else_=0)).label(f"c{n}")
        for n, code in enumerate(currencies)
    ]
    donors = (
        select(*flags)
        .where(
            LedgerEntry.kind == EntryKind.PAYMENT.value,
            LedgerEntry.occurred_at >= window.start,
            LedgerEntry.occurred_at < window.end,
        )
        .group_by(donor)
        .subquery("donors")
    )
    row = db.session.execute(
        select(func.count(), *(func.coalesce(func.sum(c), 0) for c in donors.c))
    ).one()
    return [int(value or 0) for value in row]


def payments_by_channel(*windows: Window) -> list[dict[tuple[str, str], CurrencySum]]:
    """[{(channel, currency): the window's payments} for each window], with what they settled
    to and how many have not settled yet, from one statement: whole quarter hours from the
    quarter-channel roll-up, the minutes at either edge from the ledger's time index (as
    money_in reads its figures)."""

    def whole_quarters(number: int, first_quarter: int, end_quarter: int) -> Select:
        table = LedgerQuarterChannel
        return (
            select(
                table.channel,
                table.currency,
                literal(number),
                func.sum(table.amount_minor),
                func.sum(table.settled_minor),
                func.sum(table.unsettled),
            )
            .where(
                table.kind == EntryKind.PAYMENT.value,
                table.quarter >= first_quarter,
                table.quarter < end_quarter,
            )
            .group_by(table.channel, table.currency)
        )

    parts = _window_parts(windows, whole_quarters, _ledger_payments)
    sums: list[dict[tuple[str, str], list[int]]] = [{} for _ in windows]
    for channel, currency, number, amount, settled, unsettled in rows_of_all(parts):
        acc = sums[number].setdefault((channel or Channel.STRIPE.value, currency), [0, 0, 0])
        acc[0] += int(amount or 0)
        acc[1] += int(settled or 0)
        acc[2] += int(unsettled or 0)
    return [
        {key: CurrencySum(key[1], *values) for key, values in found.items() if values != [0, 0, 0]}
        for found in sums
    ]


def _ledger_payments(number: int, start: datetime, end: datetime) -> list[Select]:
    if end <= start:
        return []
    settled = LedgerEntry.settled_amount_minor
    return [
        select(
            LedgerEntry.channel,
            LedgerEntry.currency,
            literal(number),
            func.sum(LedgerEntry.amount_minor),
            func.sum(settled),
            func.count() - func.count(settled),
        )
        .where(
            LedgerEntry.kind == EntryKind.PAYMENT.value,
            LedgerEntry.occurred_at >= start,
            LedgerEntry.occurred_at < end,
        )
        .group_by(LedgerEntry.channel, LedgerEntry.currency)
    ]


def _by_currency(parts: dict[tuple[str, str], CurrencySum]) -> list[CurrencySum]:
    sums: dict[str, list[int]] = {}
    for (_, currency), part in parts.items():
        acc = sums.setdefault(currency, [0, 0, 0])
        acc[0] += part.amount_minor
        acc[1] += part.settled_minor
        acc[2] += part.unsettled
    return [CurrencySum(code, *values) for code, values in sorted(sums.items())]


def combined_overview(period: ChosenPeriod) -> CombinedOverview:
    """One figure for the period (and its comparison) in SETTLEMENT_CURRENCY, counted by
    rates.total_in as the campaign totals are; every currency and channel beneath it."""
    settlement = current_app.config["SETTLEMENT_CURRENCY"]
    now_parts, before_parts = payments_by_channel(period.current, period.previous)
    now_sums, before_sums = _by_currency(now_parts), _by_currency(before_parts)
    # total_in converts a currency whose rows have not all settled; without a rate it is left
    # out, and the page says so.
    needing = [s for s in now_sums + before_sums if s.currency != settlement and s.unsettled]
    latest = functools.cache(rates.latest_rates)  # read once for the three uses below
    known = latest() if needing else None
    unconverted = sorted(
        {
            s.currency
            for s in needing
            if known is None or known.convert(s.amount_minor, s.currency, settlement) is None
        }
    )
    raised, rate_date = rates.total_in(settlement, now_sums, settlement, latest)
    raised_before, rate_before = rates.total_in(settlement, before_sums, settlement, latest)
    now_by = {s.currency: s.amount_minor for s in now_sums}
    before_by = {s.currency: s.amount_minor for s in before_sums}
    codes = sorted(set(now_by) | set(before_by), key=lambda c: (c != settlement, c))
    keys = sorted(
        set(now_parts) | set(before_parts),
        key=lambda k: (CHANNEL_ORDER.get(k[0], len(CHANNEL_ORDER)), k[1] != settlement, k[1]),
    )
    empty = CurrencySum("", 0, 0, 0)
    return CombinedOverview(
        currency=settlement,
        raised=Figure(raised, raised_before),
        rate_date=rate_date or rate_before,
        currencies=[(c, Figure(now_by.get(c, 0), before_by.get(c, 0))) for c in codes],
        channels=[
            ChannelLine(
                channel,
                channel_label(channel),
                currency,
                Figure(
                    now_parts.get((channel, currency), empty).amount_minor,
                    before_parts.get((channel, currency), empty).amount_minor,
                ),
            )
            for channel, currency in keys
        ],
        unconverted=unconverted,
    )


def pledges_in(*windows: Window) -> list[dict[str, tuple[int, int, int]]]:
    """[{currency: (new, lost, monthly recurring at the window's end)} for each window], from
    one pass over the pledges.

    New: pledges started in the window (never-completed checkouts aside); lost: cancelled in
    it. Monthly recurring revenue at a moment: pledges active now, or cancelled after that
    moment, that had started by then. Stripe does not tell us when a pledge was paused, so a
    pledge paused today is left out of past moments too; at "now" this equals the headline's
    figure exactly.
    """
    sums = []
    for window in windows:
        started = and_(Pledge.created_at >= window.start, Pledge.created_at < window.end)
        cancelled_in = and_(
            Pledge.status == PledgeStatus.CANCELLED.value,
            Pledge.cancelled_at >= window.start,
            Pledge.cancelled_at < window.end,
        )
        live_at_end = and_(
            Pledge.created_at < window.end,
            (Pledge.status == PledgeStatus.ACTIVE.value)
            | and_(
                Pledge.status == PledgeStatus.CANCELLED.value, Pledge.cancelled_at >= window.end
            ),
        )
        sums += [
            sum_if(and_(started, Pledge.status != PledgeStatus.INCOMPLETE.value)),
            sum_if(cancelled_in),
            sum_if(live_at_end, monthly_value()),
        ]
    found: list[dict[str, tuple[int, int, int]]] = [{} for _ in windows]
    for currency, *values in db.session.execute(
        select(Pledge.currency, *sums).group_by(Pledge.currency)
    ):
        for number in range(len(windows)):
            new, lost, mrr = values[3 * number : 3 * number + 3]
            found[number][currency] = (int(new), int(lost), int(mrr))
    return found


def open_campaigns() -> list[tuple[Campaign, Totals]]:
    """Every open campaign with its totals (from the cached roll-ups the public page uses)."""
    found = db.session.scalars(
        select(Campaign).where(Campaign.is_open.is_(True)).order_by(Campaign.created_at)
    )
    return [(campaign, campaigns.campaign_totals(campaign)) for campaign in found]


def _giving(money: dict[str, PeriodFigures]) -> list[str]:
    return [code for code, figures in money.items() if figures.payments]


def build_overview(period: ChosenPeriod) -> Overview:
    now_money, before_money = money_in(period.current, period.previous)
    now_people, now_per = people_in(period.current, _giving(now_money))
    before_people, before_per = people_in(period.previous, _giving(before_money))
    now_pledges, before_pledges = pledges_in(period.current, period.previous)
    codes = sorted(set(now_money) | set(before_money) | set(now_pledges) | set(before_pledges))
    empty = PeriodFigures()
    currencies = []
    for code in codes:
        money, money_before = now_money.get(code, empty), before_money.get(code, empty)
        new, lost, mrr = now_pledges.get(code, (0, 0, 0))
        new_before, lost_before, mrr_before = before_pledges.get(code, (0, 0, 0))
        currencies.append(
            CurrencyOverview(
                currency=code,
                raised=Figure(money.gross_minor, money_before.gross_minor),
                net=Figure(money.net_minor, money_before.net_minor),
                gifts=Figure(money.payments, money_before.payments),
                people=Figure(now_per.get(code, 0), before_per.get(code, 0)),
                new_recurring=Figure(new, new_before),
                lost_recurring=Figure(lost, lost_before),
                monthly_recurring=Figure(mrr, mrr_before),
            )
        )
    return Overview(
        period,
        currencies,
        Figure(now_people, before_people),
        open_campaigns(),
        combined=combined_overview(period),
    )


def donations_link_args(window: Window, currency: str = "", **extra: str) -> dict[str, str]:
    """The donations table's filter for the gifts behind a figure of this window."""
    args = {"date_from": window.first.isoformat(), "date_to": window.last.isoformat()}
    if currency:
        args["currency"] = currency
    return args | {key: value for key, value in extra.items() if value}
