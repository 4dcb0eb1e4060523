"""Reporting time: "today" and "this month" in the reporting time zone, as UTC instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

from fundraiser.models import utcnow

#: The days staff may ask about. Far wider than the fundraiser's history, and far enough
#: inside the calendar that a day's local midnight in any time zone, a day either side and a
#: chart's 30 days before it all stay representable (0001-01-01 or 9999-12-31 would not).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def reporting_zone() -> ZoneInfo:
    name = current_app.config.get("REPORTING_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        current_app.logger.warning("unknown REPORTING_TIMEZONE %r; using UTC", name)
        return ZoneInfo("UTC")


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (correct across daylight-saving changes)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def local_today(zone: ZoneInfo | None = None) -> date:
    return utcnow().astimezone(zone or reporting_zone()).date()


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    #: Inclusive UTC start; None means from the beginning.
    start: datetime | None


def headline_periods(now: datetime | None = None) -> list[Period]:
    """Today, last 7 days, last 30 days, this month (local calendar) and all time."""
    zone = reporting_zone()
    now = now or utcnow()
    today = now.astimezone(zone).date()
    return [
        Period("today", "Today", local_midnight(today, zone)),
        Period("7d", "Last 7 days", now - timedelta(days=7)),
        Period("30d", "Last 30 days", now - timedelta(days=30)),
        Period("month", "This month", local_midnight(today.replace(day=1), zone)),
        Period("all", "All time", None),
    ]


def month_start(now: datetime | None = None) -> datetime:
    zone = reporting_zone()
    today = (now or utcnow()).astimezone(zone).date()
    return local_midnight(today.replace(day=1), zone)


def day_range_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC [start, end) covering the local days first..last inclusive."""
    zone = reporting_zone()
    return local_midnight(first, zone), local_midnight(last + timedelta(days=1), zone)


def day_start(day: date) -> datetime:
    """The UTC instant the local `day` starts in the reporting time zone."""
    return local_midnight(day, reporting_zone())
