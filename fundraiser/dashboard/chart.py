"""The daily-totals chart: stacked bars laid out on the server, drawn as SVG by a template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fundraiser.dashboard.reports import DayTotal
from fundraiser.money import decimals

WIDTH = 760
HEIGHT = 280
LEFT = 72  # room for the money labels on the y axis
RIGHT = 12
TOP = 14
BOTTOM = 34  # room for the date labels


@dataclass(frozen=True)
class Bar:
    day: date
    day_label: str
    x: float
    width: float
    one_off_y: float
    one_off_height: float
    recurring_y: float
    recurring_height: float
    total_minor: int
    # The day's amounts formatted once, for the bar's title and the table beside the chart.
    one_off_text: str
    recurring_text: str
    total_text: str

    @property
    def title(self) -> str:
        return (
            f"{self.day_label}: {self.total_text} "
            f"({self.one_off_text} one-off, {self.recurring_text} recurring)"
        )


@dataclass(frozen=True)
class Tick:
    y: float
    value_minor: int


@dataclass(frozen=True)
class XLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    currency: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[Tick]
    labels: list[XLabel]
    empty: bool


def nice_ceiling(value_minor: int, currency: str) -> int:
    """A round axis maximum at or above value: 1, 2, 2.5 or 5 times a power of ten major units."""
    unit = 10 ** decimals(currency)
    if value_minor <= 0:
        return 10 * unit
    step = unit
    while True:
        for candidate in (step, step * 2, step * 5 // 2, step * 5):
            if candidate >= value_minor:
                return candidate
        step *= 10


def build_chart(currency: str, days: list[DayTotal], format_money) -> Chart:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = nice_ceiling(max((d.total_minor for d in days), default=0), currency)
    slot = plot_w / max(len(days), 1)
    gap = min(4.0, slot * 0.2)

    def height_of(minor: int) -> float:
        return round(plot_h * minor / top_value, 2)

    bars = []
    baseline = TOP + plot_h
    for index, day in enumerate(days):
        one_off_h = height_of(day.one_off_minor)
        recurring_h = height_of(day.recurring_minor)
        bars.append(
            Bar(
                day=day.day,
                day_label=day.day.isoformat(),
                x=round(LEFT + index * slot + gap / 2, 2),
                width=round(max(slot - gap, 1.0), 2),
                one_off_y=round(baseline - one_off_h, 2),
                one_off_height=one_off_h,
                recurring_y=round(baseline - one_off_h - recurring_h, 2),
                recurring_height=recurring_h,
                total_minor=day.total_minor,
                one_off_text=format_money(day.one_off_minor, currency),
                recurring_text=format_money(day.recurring_minor, currency),
                total_text=format_money(day.total_minor, currency),
            )
        )
    ticks = [Tick(round(baseline - plot_h * i / 4, 2), top_value * i // 4) for i in range(5)]
    every = max(1, -(-len(days) // 8))
    labels = [
        XLabel(round(LEFT + (i + 0.5) * slot, 2), day.day.strftime("%-d %b"))
        for i, day in enumerate(days)
        if i % every == 0
    ]
    return Chart(
        currency=currency,
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=baseline,
        bars=bars,
        ticks=ticks,
        labels=labels,
        empty=not any(d.total_minor for d in days),
    )
