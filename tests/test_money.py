"""Amount parsing and fee cover: properties that must hold for every input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fundraiser.money import (
    CURRENCY_RULES,
    AmountError,
    check_donation_amount,
    decimals,
    fee_cover,
    format_money,
    major_units_text,
    parse_amount,
    stripe_fee,
)

CURRENCIES = sorted(CURRENCY_RULES)


@given(minor=st.integers(min_value=1, max_value=10**11), currency=st.sampled_from(CURRENCIES))
def test_formatted_major_units_parse_back_to_the_same_minor_units(minor, currency):
    assert parse_amount(major_units_text(minor, currency), currency) == minor


@given(text=st.text(max_size=40), currency=st.sampled_from(CURRENCIES))
def test_any_text_is_an_amount_or_a_clear_error(text, currency):
    try:
        minor = parse_amount(text, currency)
    except AmountError as error:
        assert str(error) and not str(error).startswith("Traceback")
    else:
        assert isinstance(minor, int) and minor > 0


@pytest.mark.parametrize(
    "text", ["-5", "0", "0.00", "NaN", "nan", "inf", "1e3", "1E3", "12.345", "1,2,3", "abc",
             "", "   ", "0x10", "12..5", "½", "٣", "1_000", "+5"]
)  # fmt: skip
def test_garbage_and_non_positive_amounts_are_refused(text):
    with pytest.raises(AmountError):
        parse_amount(text, "EUR")


@pytest.mark.parametrize(
    "text, currency, minor",
    [("25", "EUR", 2500), ("12.50", "EUR", 1250), ("12,5", "EUR", 1250), ("€7", "EUR", 700),
     (" 1000 ", "GBP", 100000), ("500", "JPY", 500)],
)  # fmt: skip
def test_ordinary_amounts_parse(text, currency, minor):
    assert parse_amount(text, currency) == minor


def test_more_decimals_than_the_currency_has_are_refused():
    with pytest.raises(AmountError, match="decimal places"):
        parse_amount("1.001", "EUR")
    with pytest.raises(AmountError, match="whole numbers"):
        parse_amount("100.5", "JPY")


def test_limits_are_stripes_minimum_and_our_maximum():
    check_donation_amount(50, "EUR", 10_000)
    with pytest.raises(AmountError, match="smallest gift"):
        check_donation_amount(49, "EUR", 10_000)
    check_donation_amount(1_000_000, "EUR", 10_000)
    with pytest.raises(AmountError, match="largest gift"):
        check_donation_amount(1_000_001, "EUR", 10_000)


@settings(max_examples=300)
@given(amount=st.integers(min_value=1, max_value=10**9), currency=st.sampled_from(CURRENCIES))
def test_fee_cover_is_the_smallest_extra_that_delivers_the_full_gift(amount, currency):
    extra = fee_cover(amount, currency)
    charged = amount + extra
    assert extra >= 0
    assert charged - stripe_fee(charged, currency) >= amount
    assert charged - 1 - stripe_fee(charged - 1, currency) < amount


def test_formatting_uses_decimal_not_float():
    assert format_money(1999, "EUR") == "€19.99"
    assert format_money(100000000001, "USD") == "US$1,000,000,000.01"
    assert format_money(2500, "EUR", whole=True) == "€25"
    assert decimals("JPY") == 0 and Decimal(major_units_text(1234, "EUR")) == Decimal("12.34")


def _babel_format(minor: int, currency: str, locale: str, whole: bool) -> str:
    """format_money as it was written with babel's format_currency (parsing every call)."""
    import re

    from babel import Locale
    from babel.numbers import format_currency

    amount = Decimal(minor).scaleb(-decimals(currency))
    if whole and amount == amount.to_integral_value():
        pattern = Locale.parse(locale).currency_formats["standard"].pattern
        whole_pattern = re.sub(r"\.0+", "", pattern.split(";", 1)[0])
        return format_currency(
            amount, currency, locale=locale, format=whole_pattern, currency_digits=False
        )
    return format_currency(amount, currency, locale=locale)


@settings(max_examples=400)
@given(
    minor=st.one_of(st.integers(-(10**12), 10**12), st.sampled_from([0, 1, 99, 100, 2500])),
    currency=st.sampled_from([*CURRENCIES, "BHD", "ISK"]),
    locale=st.sampled_from(["en_GB", "de_DE", "fr_FR", "es_ES", "ru_RU", "en_IN", "de_CH"]),
    whole=st.booleans(),
)
def test_money_reads_as_babel_formats_it(minor, currency, locale, whole):
    """The kept locale and pattern change nothing: the text is babel's format_currency's."""
    assert format_money(minor, currency, locale, whole=whole) == _babel_format(
        minor, currency, locale, whole
    )
