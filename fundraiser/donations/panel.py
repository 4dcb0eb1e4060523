"""What the donation panel shows: ladder, currency and fee cover chosen, and its script's data."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from fundraiser.campaigns import presets as ladders
from fundraiser.donations.forms import MAX_MESSAGE
from fundraiser.i18n import PREFERRED_CURRENCIES, current_language
from fundraiser.models import Campaign, Frequency
from fundraiser.money import (
    CURRENCY_RULES,
    AmountError,
    decimals,
    fee_cover,
    format_money,
    parse_reader_amount,
)


@dataclass(frozen=True)
class Panel:
    frequency: str
    currency: str
    presets: list[ladders.Preset]
    labels: dict[int, str]  # each preset in the chosen currency, "£25"
    amount: str  # the radio chosen: a preset's value or "other"
    amount_minor: int | None  # the gift chosen, when it is a valid amount
    fee_cover_minor: int | None
    impact: str
    script_data: str  # JSON for donate.js: ladders, currency rules, the maximum


def _amount_minor(amount: str, other: str, currency: str) -> int | None:
    try:
        return parse_reader_amount(other if amount == "other" else amount, currency)
    except AmountError:
        return None


def currency_rules(currencies: list[str]) -> dict[str, dict]:
    """The server's amount rules per offered currency, for checks before posting."""
    return {
        code: {
            "digits": decimals(code),
            "min": CURRENCY_RULES[code].minimum_minor,
            "bps": CURRENCY_RULES[code].fee_bps,
            "fixed": CURRENCY_RULES[code].fee_fixed_minor,
        }
        for code in currencies
        if code in CURRENCY_RULES
    }


def first_offered_currency(campaign_currency: str, currencies: list[str]) -> str:
    """The currency the form opens on: the reader's language's (i18n.PREFERRED_CURRENCIES:
    euros in German, French and Spanish) where it is offered, else the
    campaign's own."""
    for code in PREFERRED_CURRENCIES.get(current_language(), ()):
        if code in currencies:
            return code
    return campaign_currency


def script_messages(currencies: list[str]) -> dict:
    """What donate.js says, in the request's language: the server's own words for the same
    checks (money.py, donations/forms.py) and the form's. %(name)s marks a value the script
    fills in; the words that depend on a currency's decimals are given per currency."""
    return {
        "enter": _("Please enter an amount."),
        "positive": _("The amount must be more than zero."),
        "number": _("Please enter the amount as a number, like 25 or 12.50."),
        "whole_by_currency": {
            code: _("%(currency)s amounts are whole numbers.", currency=code) for code in currencies
        },
        "places_by_currency": {
            code: ngettext(
                "Please use at most %(num)d decimal place.",
                "Please use at most %(num)d decimal places.",
                decimals(code),
            )
            for code in currencies
            if decimals(code)
        },
        "minimum": _("The smallest gift we can take is %(minimum)s."),
        "maximum": _(
            "The largest gift we take online is %(maximum)s; please contact us for larger gifts."
        ),
        "fee": _("Add %(fee)s so we receive all %(amount)s"),
        "fee_unknown": _("Add a little to cover the card fees, so all of your gift arrives"),
        "email": _("Please check your email address, or leave it empty."),
        "message": _("Please keep your message under %(limit)s characters.", limit=MAX_MESSAGE),
        "summary": _("Please check the highlighted fields."),
        "busy": _("Opening secure checkout…"),
        "submit": _("Donate securely"),
    }


def panel_for(campaign: Campaign, values: dict | None = None) -> Panel:
    """The panel as first shown (values None) or as the reader left it (a form's values)."""
    values = values or {}
    currencies = current_app.config["DONATION_CURRENCIES"]
    frequency = values.get("frequency") or campaign.default_frequency
    if frequency not in {f.value for f in Frequency}:
        frequency = Frequency.ONE_TIME.value
    currency = values.get("currency") or first_offered_currency(campaign.currency, currencies)
    if currency not in currencies:
        currency = campaign.currency if campaign.currency in currencies else currencies[0]
    presets = ladders.ladder(campaign, frequency)
    suggested = ladders.suggested(presets)
    amount = values.get("amount") or (str(suggested) if suggested else "other")
    if values.get("amount_other"):
        amount = "other"
    minor = _amount_minor(amount, values.get("amount_other", ""), currency)
    impact = next((p.impact for p in presets if str(p.amount) == amount), "")
    data = {
        "ladders": ladders.ladders(campaign),
        "rules": currency_rules(currencies),
        "max": current_app.config["DONATION_MAX_MAJOR"],
        "messages": script_messages(currencies),
    }
    return Panel(
        frequency=frequency,
        currency=currency,
        presets=presets,
        labels={
            p.amount: format_money(p.amount * 10 ** decimals(currency), currency, whole=True)
            for p in presets
        },
        amount=amount,
        amount_minor=minor,
        fee_cover_minor=fee_cover(minor, currency) if minor else None,
        impact=impact,
        script_data=json.dumps(data, separators=(",", ":")),
    )
