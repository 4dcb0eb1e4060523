"""Money, numbers and dates formatted for the page's language; amounts read its way."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

from fundraiser.money import AmountError, format_money, parse_reader_amount

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("language", "whole", "cents"),
    [
        ("en", "€5,000", "€12.50"),
        ("de", f"5.000{NBSP}€", f"12,50{NBSP}€"),
        ("fr", f"5{NNBSP}000{NBSP}€", f"12,50{NBSP}€"),
        ("es", f"5.000{NBSP}€", f"12,50{NBSP}€"),
        ("ru", f"5{NBSP}000{NBSP}€", f"12,50{NBSP}€"),
    ],
)
def test_format_money_follows_the_language_being_rendered(app, language, whole, cents):
    with app.test_request_context(f"/{language}/"), force_locale(language):
        shown = format_money(500_000, "EUR", whole=True)
        # Babel's CLDR data decides the exact spaces; the digits and marks are what we assert.
        assert shown.replace(NNBSP, " ").replace(NBSP, " ") == whole.replace(NNBSP, " ").replace(
            NBSP, " "
        )
        assert format_money(1250, "EUR").replace(NBSP, " ") == cents.replace(NBSP, " ")
    # An explicit locale still wins (the staff dashboard, CSV exports).
    assert format_money(1250, "EUR", locale="en_GB") == "€12.50"


@pytest.mark.parametrize(
    ("text", "language", "minor"),
    [
        ("12.50", "en", 1250),
        ("12,50", "en", 1250),  # unambiguous: not a thousands group
        ("1,000", "en", 100_000),
        ("1,000.50", "en", 100_050),
        ("12,50", "de", 1250),
        ("12.50", "de", 1250),
        ("1.000", "de", 100_000),
        ("1.000,50", "de", 100_050),
        ("1 000,50", "fr", 100_050),
        (f"1{NNBSP}000,50", "fr", 100_050),
        (f"5{NBSP}000", "ru", 500_000),
        ("12,5", "es", 1250),
        ("€25", "de", 2500),
    ],
)
def test_reader_amounts_are_read_with_their_decimal_mark(text, language, minor):
    assert parse_reader_amount(text, "EUR", language) == minor


@pytest.mark.parametrize(
    ("text", "language", "message"),
    [
        ("12.345", "en", "decimal places"),
        ("1,000", "de", "decimal places"),
        ("1.2.3", "de", "as a number"),
        ("12,345,6", "en", "as a number"),
        ("-5", "fr", "more than zero"),
        ("", "ru", "enter an amount"),
    ],
)
def test_unreadable_reader_amounts_are_form_errors(text, language, message):
    with pytest.raises(AmountError, match=message):
        parse_reader_amount(text, "EUR", language)


def _figure(markup: str, field: str) -> str:
    return re.search(rf'data-field="{field}">([^<]+)<', markup)[1]


def test_german_and_french_pages_show_the_goal_their_way(client, campaign):
    assert _figure(client.get("/").get_data(as_text=True), "goal") == "€5,000"
    assert _figure(client.get("/de/").get_data(as_text=True), "goal") == f"5.000{NBSP}€"
    french = _figure(client.get("/fr/").get_data(as_text=True), "goal")
    assert french.replace(NNBSP, " ").replace(NBSP, " ") == "5 000 €"


def test_dates_on_the_page_are_in_its_language(client, campaign):
    assert '<time datetime="2022-02-01">February 2022</time>' in client.get("/").get_data(
        as_text=True
    )
    assert '<time datetime="2022-02-01">Februar 2022</time>' in client.get("/de/").get_data(
        as_text=True
    )
    assert '<time datetime="2022-02-01">février 2022</time>' in client.get("/fr/").get_data(
        as_text=True
    )


def _selected_currency(markup: str) -> str:
    return re.search(r'<option value="(\w+)"[^>]*selected', markup)[1]


@pytest.mark.parametrize(
    ("path", "currency"),
    [("/", "EUR"), ("/de/", "EUR"), ("/fr/", "EUR"), ("/es/", "EUR"), ("/ru/", "EUR")],
)
def test_first_offered_currency_follows_the_language(client, campaign, path, currency):
    # The seed campaign is in euros; GBP, EUR and USD are offered.
    assert _selected_currency(client.get(path).get_data(as_text=True)) == currency


def test_first_offered_currency_is_the_campaigns_when_the_languages_is_not_offered(
    app, client, campaign
):
    offered = app.config["DONATION_CURRENCIES"]
    app.config["DONATION_CURRENCIES"] = ["EUR", "USD"]
    try:
        assert _selected_currency(client.get("/").get_data(as_text=True)) == "EUR"
    finally:
        app.config["DONATION_CURRENCIES"] = offered


def _post(client, path, campaign, amount, currency="EUR"):
    form = {"campaign": campaign, "amount": "other", "amount_other": amount, "currency": currency}
    return client.post(path, data=form, headers={"Origin": "http://localhost"})


def test_german_form_takes_a_decimal_comma_and_still_refuses_out_of_range(client, campaign):
    refused = _post(client, "/de/donate", campaign, "0,20")
    assert refused.status_code == 400
    markup = refused.get_data(as_text=True)
    assert "smallest gift" in markup and f"0,50{NBSP}€" in markup
    huge = _post(client, "/de/donate", campaign, "1.000.000,00")
    assert huge.status_code == 400 and "largest gift" in huge.get_data(as_text=True)
    unreadable = _post(client, "/de/donate", campaign, "12,3,4")
    assert unreadable.status_code == 400 and "as a number" in unreadable.get_data(as_text=True)
