"""Dashboard forms: sign-in steps and actions (with CSRF), and the GET filters (without)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from fundraiser.dashboard.donations import (
    AMOUNT_TEXT,
    FREQUENCIES,
    RECURRING,
    STATUSES,
    DonationFilter,
)
from fundraiser.dashboard.periods import EARLIEST_DAY, LATEST_DAY, local_today
from fundraiser.models import CHANNELS, Role

#: The longest range the chart draws, so a typo can't ask for a century of bars.
MAX_CHART_DAYS = 366
PAGE_MESSAGE = "Pages are numbered from 1."


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Please enter your email."), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Please enter your password."), Length(max=1024)]
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired("Please enter the code."), Length(max=40)],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        "Six-digit code from the app",
        validators=[DataRequired("Please enter the code the app shows."), Length(max=20)],
    )


class StaffPasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Please enter your current password."), Length(max=1024)],
    )
    password = PasswordField(
        "New password",
        validators=[DataRequired("Please choose a new password."), Length(max=1024)],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Please type the new password again."),
            EqualTo("password", "The two new passwords don't match."),
        ],
    )


class ConfirmedActionForm(FlaskForm):
    #: "yes" only on the confirmation page's button; the first post shows that page.
    confirmed = HiddenField(default="")


class RefundForm(ConfirmedActionForm):
    amount = StringField(
        "Amount to refund", validators=[DataRequired("Please enter an amount."), Length(max=20)]
    )
    reason = TextAreaField(
        "Reason (kept in the audit log and sent to Stripe as a note)",
        validators=[DataRequired("Please give a reason."), Length(max=500)],
    )


class CancelPledgeForm(ConfirmedActionForm):
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired("Please give a reason."), Length(max=500)],
    )


class SimpleActionForm(FlaskForm):
    """A button that posts: only the CSRF token."""


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=[SelectChoice(role.value) for role in Role],
    )


class _GetForm(FlaskForm):
    """Filters travel in the query string: no CSRF token (they change nothing)."""

    class Meta:
        csrf = False


def _amount_text(form, field) -> None:
    if field.data and not AMOUNT_TEXT.match(field.data.strip()):
        raise ValidationError("Enter an amount like 10 or 12.50.")


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


#: Only ASCII digits: strptime also reads other scripts' digits ("１２３４-01-01").
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class DayField(DateField):
    """A YYYY-MM-DD day within the range the dashboard reports on (periods.EARLIEST_DAY to
    LATEST_DAY); anything else is a field error, so the page answers 400 with the reason."""

    def process_formdata(self, valuelist) -> None:
        text = " ".join(valuelist or [])
        if text and not _ISO_DAY.fullmatch(text):
            self.data = None
            raise ValueError(self.gettext("Not a valid date value."))
        super().process_formdata(valuelist)
        if self.data is not None and not EARLIEST_DAY <= self.data <= LATEST_DAY:
            self.data = None
            raise ValueError(
                f"Choose a date between {EARLIEST_DAY:%-d %b %Y} and {LATEST_DAY:%-d %b %Y}."
            )


class DonationFilterForm(_GetForm):
    q = StringField("Email, name or Stripe id", validators=[Optional(), Length(max=255)])
    campaign = SelectField("Campaign", choices=choices([("", "All campaigns")]), default="")
    date_from = DayField("From", validators=[Optional()])
    date_to = DayField("To", validators=[Optional()])
    status = SelectField(
        "Status",
        choices=choices([("", "Any status")] + [(s, s.replace("_", " ")) for s in STATUSES]),
        default="",
    )
    frequency = SelectField(
        "Frequency",
        choices=choices(
            [("", "Any frequency")] + [(f, f) for f in FREQUENCIES] + [(RECURRING, "recurring")]
        ),
        default="",
    )
    currency = SelectField("Currency", choices=choices([("", "Any currency")]), default="")
    channel = SelectField(
        "Channel",
        choices=choices([("", "Any channel")] + [(c, c) for c in CHANNELS]),
        default="",
    )
    amount_min = StringField("Amount from", validators=[Optional(), Length(max=16), _amount_text])
    amount_max = StringField("Amount to", validators=[Optional(), Length(max=16), _amount_text])
    page = IntegerField(
        "Page",
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100_000, message=PAGE_MESSAGE)],
    )

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")

    def to_filter(self) -> DonationFilter:
        return DonationFilter(
            campaign=self.campaign.data or "",
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            status=self.status.data or "",
            frequency=self.frequency.data or "",
            currency=self.currency.data or "",
            amount_min=(self.amount_min.data or "").strip(),
            amount_max=(self.amount_max.data or "").strip(),
            q=(self.q.data or "").strip(),
            channel=self.channel.data or "",
        )


class SearchForm(_GetForm):
    q = StringField("Email or name", validators=[Optional(), Length(max=255)])
    page = IntegerField(
        "Page",
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100_000, message=PAGE_MESSAGE)],
    )


class PageForm(_GetForm):
    page = IntegerField(
        "Page",
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100_000, message=PAGE_MESSAGE)],
    )
    action = StringField("Action", validators=[Optional(), Length(max=100)])


class ChartRangeForm(_GetForm):
    start = DayField("From", validators=[Optional()])
    end = DayField("To", validators=[Optional()])

    def validate_end(self, field) -> None:
        start, end = self.start.data, field.data
        if start and end and end < start:
            raise ValidationError("The end date is before the start date.")
        if start and end and (end - start).days >= MAX_CHART_DAYS:
            raise ValidationError(f"Choose at most {MAX_CHART_DAYS} days.")

    def chart_range(self):
        """The chosen days, or the last 30 days ending today (reporting time zone)."""
        end = self.end.data or local_today()
        start = self.start.data or end - timedelta(days=29)
        if (end - start).days >= MAX_CHART_DAYS or end < start:
            start = end - timedelta(days=29)
        return start, end
