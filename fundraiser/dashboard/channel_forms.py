"""Forms of the dashboard's channels page: PayPal and Patreon uploads, offline gifts."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from fundraiser.dashboard.forms import choices
from fundraiser.payments.offline import METHODS

#: Largest upload of a channel's export (a year of a busy account's activity fits).
UPLOAD_MAX_BYTES = 8 * 1024 * 1024


class PayPalImportForm(FlaskForm):
    file = FileField("PayPal activity download (CSV)", validators=[FileRequired()])
    dry_run = BooleanField("Only check the file; import nothing")
    skip_bad_rows = BooleanField("Import the good rows even if some are refused")
    month_first = BooleanField("Dates are month first (US export)")


class PatreonImportForm(FlaskForm):
    file = FileField("Patreon members export (CSV)", validators=[FileRequired()])
    dry_run = BooleanField("Only check the file; import nothing")
    skip_bad_rows = BooleanField("Import the good rows even if some are refused")


class OfflineGiftForm(FlaskForm):
    campaign = SelectField("Campaign", validators=[DataRequired()])
    amount = StringField("Amount", validators=[DataRequired(), Length(max=20)])
    currency = StringField("Currency", validators=[Optional(), Length(max=3)])
    day = DateField("Date of the gift", validators=[DataRequired()])
    method = SelectField("How it was given", choices=choices((m, m.capitalize()) for m in METHODS))
    donor_name = StringField("Donor name (optional)", validators=[Length(max=200)])
    donor_email = EmailField("Donor email (optional)", validators=[Optional(), Length(max=320)])
    reference = StringField("Reference (receipt, cheque or bank)", validators=[Length(max=80)])
    note = TextAreaField("Note", validators=[Length(max=500)])


class ReverseGiftForm(FlaskForm):
    reason = StringField("Why", validators=[DataRequired(), Length(max=500)])
