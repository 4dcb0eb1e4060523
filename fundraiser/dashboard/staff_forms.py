"""Forms of the staff desk: the overview's period, the campaign editor and supporter notes."""

from __future__ import annotations

from wtforms import SelectField

from fundraiser.dashboard.forms import ChartRangeForm, choices
from fundraiser.dashboard.overview import PERIODS, ChosenPeriod, choose_period


class PeriodForm(ChartRangeForm):
    """This month, last month, year to date, or a custom range (the chart's From/To, which
    alone, as old links have them, also mean a custom range)."""

    period = SelectField("Period", choices=choices(PERIODS.items()), default="month")

    def chosen(self) -> ChosenPeriod:
        key = self.period.data if self.period.raw_data else None
        if key is None and (self.start.data or self.end.data):
            key = "range"
        if key == "range":
            first, last = self.chart_range()
            return choose_period("range", first, last)
        return choose_period(key or "month")
