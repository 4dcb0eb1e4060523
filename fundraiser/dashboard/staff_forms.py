"""Forms of the staff desk: the overview's period, the campaign editor and supporter notes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from fundraiser.dashboard.campaigns import FIELDS, article_file_field
from fundraiser.dashboard.forms import ChartRangeForm, choices
from fundraiser.dashboard.overview import PERIODS, ChosenPeriod, choose_period
from fundraiser.dashboard.supporter_page import MAX_NOTE_CHARS


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


def _campaign_form_class() -> type[FlaskForm]:
    """The editor's form, built from the editable-field table (one line per column there)."""
    fields = {spec.name: spec.make() for spec in FIELDS}
    fields["article_file"] = article_file_field()
    fields["make_default"] = BooleanField(
        "Serve this campaign at / (the default campaign; to change it, make another default)"
    )
    return type("CampaignForm", (FlaskForm,), fields)


CampaignForm = _campaign_form_class()


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Add a note (seen by staff only)",
        validators=[
            DataRequired("Please write the note."),
            Length(max=MAX_NOTE_CHARS, message=f"Keep notes under {MAX_NOTE_CHARS} characters."),
        ],
    )
