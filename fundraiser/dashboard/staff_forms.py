"""Forms of the staff desk: the overview's period, the campaign editor and supporter notes."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.dashboard.campaigns import (
    FORM_FIELDS,
    TRANSLATION_FIELDS,
    article_file_field,
    photo_file_field,
)
from fundraiser.dashboard.channels import channel_label
from fundraiser.dashboard.donations import (
    FREQUENCIES,
    RECURRING,
    STATUSES,
    known_currencies,
    occurring_values,
)
from fundraiser.dashboard.forms import ChartRangeForm, DonationFilterForm, choices
from fundraiser.dashboard.labels import frequency_label, status_label
from fundraiser.dashboard.overview import PERIODS, ChosenPeriod, choose_period
from fundraiser.dashboard.periods import local_today
from fundraiser.dashboard.supporter_page import MAX_NOTE_CHARS
from fundraiser.models import CHANNELS


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
    fields = {spec.name: spec.make() for spec in FORM_FIELDS}
    fields["article_file"] = article_file_field()
    fields["photo_file"] = photo_file_field()
    fields["make_default"] = BooleanField(
        "Serve this campaign at / (the default campaign; to change it, make another default)"
    )
    return type("CampaignForm", (FlaskForm,), fields)


CampaignForm = _campaign_form_class()


def _translation_form_class() -> type[FlaskForm]:
    """A translation's form: the original's translated fields (same labels and checks)."""
    fields = {spec.name: spec.make() for spec in TRANSLATION_FIELDS}
    fields["article_file"] = article_file_field()
    return type("TranslationForm", (FlaskForm,), fields)


TranslationForm = _translation_form_class()


class DeleteTranslationForm(FlaskForm):
    confirm = BooleanField(
        "Yes, delete this translation (the page shows the original with its note)",
        validators=[DataRequired("Tick the box to confirm the deletion.")],
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Add a note (seen by staff only)",
        validators=[
            DataRequired("Please write the note."),
            Length(max=MAX_NOTE_CHARS, message=f"Keep notes under {MAX_NOTE_CHARS} characters."),
        ],
    )


def donation_filter_choices(form: DonationFilterForm) -> None:
    """Offer only campaigns, currencies, frequencies and channels that occur in the books, with the
    words people read; a value already chosen (e.g. from an overview link) stays valid."""
    found = occurring_values()
    campaign_names = dict(found.campaigns)
    chosen_campaign = form.campaign.data
    if chosen_campaign and chosen_campaign not in campaign_names:
        campaign = campaign_by_slug(chosen_campaign)
        if campaign is not None:
            campaign_names[campaign.slug] = campaign.title
    form.campaign.choices = choices(
        [("", "All campaigns")] + [(slug, title[:60]) for slug, title in campaign_names.items()]
    )
    currencies = list(found.currencies)
    if form.currency.data in known_currencies() and form.currency.data not in currencies:
        currencies.append(form.currency.data)
    form.currency.choices = choices([("", "Any currency")] + [(c, c) for c in currencies])
    frequencies = [(f, frequency_label(f)) for f in found.frequencies]
    if any(f != "one-time" for f in found.frequencies) or form.frequency.data == RECURRING:
        frequencies.append((RECURRING, "Any recurring"))
    if form.frequency.data in FREQUENCIES and form.frequency.data not in found.frequencies:
        frequencies.append((form.frequency.data, frequency_label(form.frequency.data)))
    form.frequency.choices = choices([("", "Any frequency")] + frequencies)
    form.status.choices = choices([("", "Any status")] + [(s, status_label(s)) for s in STATUSES])
    channels = list(found.channels)
    if form.channel.data in CHANNELS and form.channel.data not in channels:
        channels.append(form.channel.data)
    form.channel.choices = choices(
        [("", "Any channel")] + [(c, channel_label(c)) for c in channels]
    )


class BookkeepingForm(FlaskForm):
    """The year of the monthly bookkeeping table and export (a GET filter: no CSRF token)."""

    class Meta:
        csrf = False

    year = IntegerField(
        "Year",
        validators=[Optional(), NumberRange(min=2000, max=2100, message="Choose a year.")],
    )

    def chosen_year(self) -> int:
        return self.year.data or local_today().year
