"""Account forms (Flask-WTF, each with a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from fundraiser.accounts.services import AccountError, normalize_email
from fundraiser.passwords import password_problem
from fundraiser.payments.pledge_policy import INTERVALS, PAUSE_MONTHS


def valid_email(form, field) -> None:
    """Normalise the address in place, or explain what is wrong with it."""
    try:
        field.data = normalize_email(field.data or "")
    except AccountError as exc:
        raise ValidationError(str(exc)) from exc


def acceptable_password(form, field) -> None:
    email = form.email.data if hasattr(form, "email") else None
    problem = password_problem(field.data or "", email)
    if problem:
        raise ValidationError(problem)


#: The choices' labels in the reader's language (pledge_policy keeps the English ones for staff).
INTERVAL_LABELS = {"month": _l("Monthly"), "year": _l("Yearly")}

EMAIL = [DataRequired(_l("Please enter your email address.")), valid_email]


class RegisterForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL)
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(_l("Please choose a password.")), acceptable_password],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=EMAIL)
    password = PasswordField(
        _l("Password"), validators=[InputRequired(_l("Please enter your password."))]
    )
    next = HiddenField()


class EmailForm(FlaskForm):
    """Asking for a reset or sign-in link."""

    email = EmailField(_l("Email"), validators=EMAIL)
    next = HiddenField()


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Please choose a password.")), acceptable_password],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"))
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Please choose a password.")), acceptable_password],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=200)])
    show_publicly = BooleanField(_l("Show my name publicly as a supporter"))


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (sign in with link, log out, resume …)."""


class AmountForm(FlaskForm):
    amount = StringField(_l("New amount"), validators=[DataRequired(_l("Please enter an amount."))])


class IntervalForm(FlaskForm):
    interval = RadioField(
        _l("How often"),
        choices=[
            SelectChoice(value, INTERVAL_LABELS.get(value, INTERVALS[value])) for value in INTERVALS
        ],
        validators=[InputRequired(_l("Please choose monthly or yearly."))],
    )


class PauseForm(FlaskForm):
    months = RadioField(
        _l("Pause for"),
        choices=[
            SelectChoice(str(n), lazy_ngettext("%(num)d month", "%(num)d months", n))
            for n in PAUSE_MONTHS
        ],
        validators=[InputRequired(_l("Please choose how long to pause."))],
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"), validators=[Length(max=1000)])
    #: "yes" once the supporter confirmed on the second step.
    confirmed = HiddenField()


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"))
    confirm = BooleanField(
        _l("I understand my account and personal data will be erased"),
        validators=[InputRequired(_l("Please tick the box to confirm."))],
    )
