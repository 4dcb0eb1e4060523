"""Money: integer minor units plus an ISO currency code; parsing, fee cover and formatting."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import (
    NumberPattern,
    get_currency_precision,
    get_currency_symbol,
    parse_pattern,
)
from flask_babel import gettext as _
from flask_babel import ngettext

from fundraiser.i18n import rendering_language, rendering_locale


class AmountError(ValueError):
    """An amount a person typed that we cannot accept; the message is shown to them."""


@dataclass(frozen=True)
class CurrencyRule:
    #: Stripe's minimum charge in minor units.
    minimum_minor: int
    #: Stripe's standard card fee: basis points plus a fixed part in minor units.
    fee_bps: int
    fee_fixed_minor: int


# Stripe's published minimums and standard (domestic card) pricing; a currency must be
# listed here and in DONATION_CURRENCIES to be offered.
CURRENCY_RULES: dict[str, CurrencyRule] = {
    "EUR": CurrencyRule(50, 150, 25),
    "GBP": CurrencyRule(30, 150, 20),
    "USD": CurrencyRule(50, 290, 30),
    "AUD": CurrencyRule(50, 175, 30),
    "CAD": CurrencyRule(50, 290, 30),
    "CHF": CurrencyRule(50, 290, 30),
    "SEK": CurrencyRule(300, 150, 180),
    "JPY": CurrencyRule(50, 360, 0),
}

_AMOUNT_RE = re.compile(r"^(?P<whole>\d{1,12})(?:[.,](?P<frac>\d+))?$", re.ASCII)


def decimals(currency: str) -> int:
    return get_currency_precision(currency.upper())


def parse_amount(text: str, currency: str) -> int:
    """Turn what a person typed ("25", "12.50", "12,50") into minor units, or raise AmountError."""
    cleaned = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    for symbol in ("€", "£", "$"):
        cleaned = cleaned.removeprefix(symbol)
    if not cleaned:
        raise AmountError(_("Please enter an amount."))
    if cleaned.startswith("-"):
        raise AmountError(_("The amount must be more than zero."))
    match = _AMOUNT_RE.match(cleaned)
    if not match:
        raise AmountError(_("Please enter the amount as a number, like 25 or 12.50."))
    places = decimals(currency)
    frac = match.group("frac") or ""
    if len(frac) > places:
        if places == 0:
            raise AmountError(
                _("%(currency)s amounts are whole numbers.", currency=currency.upper())
            )
        raise AmountError(
            ngettext(
                "Please use at most %(num)d decimal place.",
                "Please use at most %(num)d decimal places.",
                places,
            )
        )
    minor = int(match.group("whole")) * 10**places + int(frac.ljust(places, "0") or 0)
    if minor <= 0:
        raise AmountError(_("The amount must be more than zero."))
    return minor


def parse_reader_amount(text: str, currency: str, language: str | None = None) -> int:
    """What a reader typed, read the way their language writes numbers (default: the page's).

    English writes "1,250.50", German and Spanish "1.250,50", French and Russian "1 250,50".
    The language's own decimal mark always is one; the other mark is read as thousands
    grouping when it groups by three ("1,000" in English, "1.000" in German) and otherwise
    as a decimal mark, where that is unambiguous ("12,50" in English, "12.50" in German).
    Beyond that, the same rules (and errors) as parse_amount.
    """
    if language is None:
        language = rendering_language()
    mark = "." if language == "en" else ","
    other = "," if mark == "." else "."
    cleaned = "".join(ch for ch in (text or "") if not ch.isspace())
    return parse_amount(_with_point(cleaned, mark, other), currency)


def _with_point(cleaned: str, mark: str, other: str) -> str:
    """`cleaned` with grouping removed and its decimal mark as "." (unreadable: unchanged)."""
    if other not in cleaned:
        return cleaned.replace(mark, ".") if cleaned.count(mark) == 1 else cleaned
    integer, has_mark, fraction = cleaned.partition(mark)
    groups = integer.split(other)
    grouped = (
        1 <= len(groups[0].lstrip("€£$")) <= 3
        and groups[0].lstrip("€£$").isdigit()
        and all(len(group) == 3 and group.isdigit() for group in groups[1:])
    )
    if grouped and mark not in fraction:
        return "".join(groups) + (f".{fraction}" if has_mark else "")
    if not has_mark and len(groups) == 2:
        return f"{groups[0]}.{groups[1]}"
    return cleaned


def check_donation_amount(minor: int, currency: str, maximum_major: int) -> None:
    """Raise AmountError unless `minor` is within Stripe's minimum and our maximum."""
    rule = CURRENCY_RULES[currency.upper()]
    if minor < rule.minimum_minor:
        raise AmountError(
            _(
                "The smallest gift we can take is %(minimum)s.",
                minimum=format_money(rule.minimum_minor, currency),
            )
        )
    maximum_minor = maximum_major * 10 ** decimals(currency)
    if minor > maximum_minor:
        raise AmountError(
            _(
                "The largest gift we take online is %(maximum)s; please contact us for larger "
                "gifts.",
                maximum=format_money(maximum_minor, currency),
            )
        )


def stripe_fee(charged_minor: int, currency: str) -> int:
    """Stripe's standard fee on a charge, rounded half up as Stripe does."""
    rule = CURRENCY_RULES[currency.upper()]
    return (charged_minor * rule.fee_bps + 5_000) // 10_000 + rule.fee_fixed_minor


def fee_cover(amount_minor: int, currency: str) -> int:
    """The smallest extra so that, after Stripe's fee, the campaign receives `amount_minor`."""
    rule = CURRENCY_RULES[currency.upper()]
    # Closed-form estimate, then settle on the exact minimum under half-up rounding.
    numerator = (amount_minor + rule.fee_fixed_minor) * 10_000
    charged = -(-numerator // (10_000 - rule.fee_bps))
    while charged - 1 - stripe_fee(charged - 1, currency) >= amount_minor:
        charged -= 1
    while charged - stripe_fee(charged, currency) < amount_minor:
        charged += 1
    return charged - amount_minor


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-decimals(currency))


def format_money(minor: int, currency: str, locale: str | None = None, whole: bool = False) -> str:
    """Format for people in `locale` (default: the language being rendered, see i18n.LOCALES):
    "€25.00" in English, "25,00 €" in German; "€25" / "25 €" with whole=True when there are
    no cents."""
    if locale is None:
        locale = rendering_locale()
    amount = to_decimal(minor, currency)
    whole = whole and amount == amount.to_integral_value()
    code = currency.upper()
    # What babel's format_currency does, with the parsed locale and pattern kept: parsing
    # them again on every call was most of its cost (a dashboard page formats hundreds).
    parsed, pattern = _currency_pattern(locale, code, whole)
    return pattern.apply(
        amount, parsed, currency=code, currency_digits=not whole, numbering_system="latn"
    )


@lru_cache(maxsize=256)
def _currency_pattern(locale: str, currency: str, whole: bool) -> tuple[Locale, NumberPattern]:
    """The locale and its standard currency pattern with `currency`'s symbol already in place
    of "¤" (babel otherwise looks up the currency's plural name on every call, to fill a
    "¤¤¤" the standard pattern never has); with `whole`, without its fraction ("#,##0 €")."""
    parsed = Locale.parse(locale)
    pattern = parsed.currency_formats["standard"]
    if whole:
        pattern = parse_pattern(re.sub(r"\.0+", "", pattern.pattern.split(";", 1)[0]))
    symbol = get_currency_symbol(currency, parsed)
    return parsed, NumberPattern(
        pattern.pattern,
        tuple(part.replace("¤", symbol) for part in pattern.prefix),
        tuple(part.replace("¤", symbol) for part in pattern.suffix),
        pattern.grouping,
        pattern.int_prec,
        pattern.frac_prec,
        pattern.exp_prec,
        pattern.exp_plus,
        pattern.number_pattern,
    )


def major_units_text(minor: int, currency: str) -> str:
    """Minor units as the plain number a form field would hold ("12.50", "25")."""
    amount = to_decimal(minor, currency)
    return str(amount.to_integral_value()) if amount == amount.to_integral_value() else str(amount)
