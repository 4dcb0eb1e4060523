"""Account forms (Flask-WTF, each with a CSRF token)."""

from __future__ import annotations

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


EMAIL = [DataRequired("Please enter your email address."), valid_email]


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField(
        "Password",
        validators=[InputRequired("Please choose a password."), acceptable_password],
    )


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[InputRequired("Please enter your password.")])
    next = HiddenField()


class EmailForm(FlaskForm):
    """Asking for a reset or sign-in link."""

    email = EmailField("Email", validators=EMAIL)
    next = HiddenField()


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[InputRequired("Please choose a password."), acceptable_password],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password")
    password = PasswordField(
        "New password",
        validators=[InputRequired("Please choose a password."), acceptable_password],
    )


class ProfileForm(FlaskForm):
    name = StringField("Your name", validators=[Length(max=200)])
    show_publicly = BooleanField("Show my name publicly as a supporter")


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (sign in with link, log out, resume …)."""


class AmountForm(FlaskForm):
    amount = StringField("New amount", validators=[DataRequired("Please enter an amount.")])


class IntervalForm(FlaskForm):
    interval = RadioField(
        "How often",
        choices=[SelectChoice(value, label) for value, label in INTERVALS.items()],
        validators=[InputRequired("Please choose monthly or yearly.")],
    )


class PauseForm(FlaskForm):
    months = RadioField(
        "Pause for",
        choices=[SelectChoice(str(n), f"{n} month{'s' if n > 1 else ''}") for n in PAUSE_MONTHS],
        validators=[InputRequired("Please choose how long to pause.")],
    )


class CancelForm(FlaskForm):
    reason = TextAreaField("Why are you cancelling? (optional)", validators=[Length(max=1000)])
    #: "yes" once the supporter confirmed on the second step.
    confirmed = HiddenField()


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password")
    confirm = BooleanField(
        "I understand my account and personal data will be erased",
        validators=[InputRequired("Please tick the box to confirm.")],
    )
