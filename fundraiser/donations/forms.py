"""Validation of the public donation form (no CSRF token: the page is cached for everyone)."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from fundraiser.mail import MAILABLE
from fundraiser.models import Frequency
from fundraiser.money import (
    AmountError,
    check_donation_amount,
    decimals,
    fee_cover,
    format_money,
    parse_reader_amount,
)

MAX_NAME = 200
MAX_MESSAGE = 500
TRUE_VALUES = {"1", "true", "on", "yes", "y"}


@dataclass(frozen=True)
class DonationRequest:
    """A valid donation form, in our terms."""

    campaign_slug: str
    amount_minor: int
    currency: str
    frequency: Frequency
    email: str | None
    name: str
    anonymous: bool
    cover_fees: bool
    message: str
    show_amount: bool = False


@dataclass
class DonationFormResult:
    request: DonationRequest | None
    errors: dict[str, str]
    values: dict[str, str]


def _chosen_amount_text(form: MultiDict) -> str:
    chosen = (form.get("amount") or "").strip()
    other = (form.get("amount_other") or "").strip()
    if chosen in ("", "other") or other:
        return other or ("" if chosen == "other" else chosen)
    return chosen


def _clean_text(value: str | None, limit: int) -> str:
    text = (value or "").replace("\x00", "").strip()
    return "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")[:limit]


def _total_over_maximum(amount_minor: int, currency: str, maximum_major: int) -> str | None:
    """The maximum caps what is charged: a gift plus its fee cover must stay under it."""
    maximum_minor = maximum_major * 10 ** decimals(currency)
    total = amount_minor + fee_cover(amount_minor, currency)
    if total <= maximum_minor:
        return None
    return _(
        "Including the fees, this gift would be %(total)s, over the %(maximum)s we take "
        "online. Please choose a smaller amount, or leave the fees uncovered.",
        total=format_money(total, currency),
        maximum=format_money(maximum_minor, currency),
    )


def validate_donation(
    form: MultiDict, currencies: list[str], maximum_major: int
) -> DonationFormResult:
    """Check every field; errors are keyed by field and written for the reader."""
    values = {key: form.get(key, "")[:1000] for key in form}
    errors: dict[str, str] = {}
    currency = (form.get("currency") or "").strip().upper()
    if currency not in currencies:
        errors["currency"] = errors["amount"] = _("Please choose one of the currencies offered.")
    try:
        frequency = Frequency((form.get("frequency") or "one-time").strip())
    except ValueError:
        frequency = Frequency.ONE_TIME
        errors["frequency"] = _("Please choose once, monthly or yearly.")
        errors.setdefault("amount", errors["frequency"])
    amount_minor = 0
    if "currency" not in errors:
        try:
            amount_minor = parse_reader_amount(_chosen_amount_text(form), currency)
            check_donation_amount(amount_minor, currency, maximum_major)
        except AmountError as exc:
            errors["amount"] = str(exc)
    cover_fees = (form.get("cover_fees") or "").lower() in TRUE_VALUES
    over = cover_fees and "amount" not in errors
    if over and (error := _total_over_maximum(amount_minor, currency, maximum_major)):
        errors["amount"] = error
    email = None
    if raw_email := (form.get("email") or "").strip():
        try:
            email = validate_email(raw_email, **MAILABLE).normalized.lower()
        except EmailNotValidError:
            errors["email"] = _("Please check your email address, or leave it empty.")
    message = form.get("message") or ""
    if len(message) > MAX_MESSAGE:
        errors["message"] = _(
            "Please keep your message under %(limit)s characters.", limit=MAX_MESSAGE
        )
    if errors:
        errors.setdefault("form", _("Please check the highlighted fields."))
        return DonationFormResult(None, errors, values)
    request = DonationRequest(
        campaign_slug=(form.get("campaign") or "").strip(),
        amount_minor=amount_minor,
        currency=currency,
        frequency=frequency,
        email=email,
        name=_clean_text(form.get("name"), MAX_NAME),
        anonymous=(form.get("anonymous") or "").lower() in TRUE_VALUES,
        cover_fees=cover_fees,
        message=_clean_text(message, MAX_MESSAGE),
        show_amount=(form.get("show_amount") or "").lower() in TRUE_VALUES,
    )
    return DonationFormResult(request, {}, values)
