"""The donation form: ladders per frequency, labels in the chosen currency, exact fee cover,
and a server answer that opens at the form with its message focused."""

from __future__ import annotations

import re

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent
from fundraiser.money import fee_cover, format_money
from tests.helpers import donate


def preset_labels(markup: str) -> list[str]:
    return re.findall(r'<label for="amount-\d+">([^<]+)</label>', markup)


def test_presets_are_labelled_in_the_currency_the_reader_chose(client, campaign):
    response = donate(client, campaign, amount="25", currency="GBP", email="not an email")
    assert response.status_code == 400
    labels = preset_labels(response.get_data(as_text=True))
    assert labels == ["£10", "£25", "£50", "£100", "£250"]


def test_the_currency_is_its_own_labelled_control(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    assert '<div class="currency-field">\n    <label for="currency">Currency</label>' in markup
    assert preset_labels(markup)[:2] == ["€10", "€25"]


def test_staff_set_ladders_impact_lines_and_the_default_frequency(app, runner, client, campaign):
    result = runner.invoke(
        args=["campaign", "presets", campaign, "--frequency", "monthly", "--amounts", "20,5,10",
              "--impact", "10=Pays for a translated article", "--default"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    markup = client.get("/").get_data(as_text=True)
    assert 'id="freq-monthly" name="frequency" value="monthly" checked' in markup
    assert preset_labels(markup) == ["€5", "€10", "€20"]
    assert 'id="amount-10" name="amount" value="10" checked' in markup
    assert "Pays for a translated article" in markup
    # The script gets every ladder, so the other frequencies keep their own amounts.
    assert "&#34;one-time&#34;:[{&#34;amount&#34;:10" in markup or '"one-time":[{"amount":10' in (
        markup.replace("&#34;", '"')
    )


def test_presets_refuse_what_the_form_cannot_offer(runner, campaign):
    for amounts, impact in [("5,x", ()), ("5,5", ()), ("1,2,3,4,5,6", ()), ("5", ("7=No"))]:
        args = ["campaign", "presets", campaign, "--frequency", "yearly", "--amounts", amounts]
        for line in impact if isinstance(impact, tuple) else (impact,):
            args += ["--impact", line]
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and "Error" in result.output, amounts


def test_cover_the_fees_states_the_exact_amount_and_that_is_what_is_charged(
    app, client, campaign, stripe_sim
):
    markup = client.get("/").get_data(as_text=True)
    extra = fee_cover(2500, "EUR")
    assert f"Add {format_money(extra, 'EUR')} so we receive all €25" in markup
    response = donate(client, campaign, amount="other", amount_other="12.50", currency="GBP",
                      cover_fees="1")  # fmt: skip
    assert response.status_code == 303
    with app.app_context():
        intent = db.session.scalars(select(DonationIntent)).one()
        assert (intent.amount_minor, intent.fee_cover_minor) == (1250, fee_cover(1250, "GBP"))
    # What the form would have said for that amount is the same figure.
    again = donate(client, campaign, amount="other", amount_other="12.50", currency="GBP",
                   email="bad")  # fmt: skip
    text = again.get_data(as_text=True)
    assert f"Add {format_money(fee_cover(1250, 'GBP'), 'GBP')} so we receive all £12.50" in text


def test_a_refused_form_opens_at_the_panel_with_the_message_focused(client, campaign):
    response = donate(client, campaign, amount="other", amount_other="0.01")
    markup = response.get_data(as_text=True)
    assert response.status_code == 400
    # Autofocus scrolls to the summary and focuses it, with or without the page's script.
    assert 'action="/donate"' in markup and 'id="donate"' in markup
    summary = re.search(r'<div class="form-error" id="form-error"[^>]*>', markup).group(0)
    assert "autofocus" in summary and 'tabindex="-1"' in summary
    assert '<a href="#amount_other">The smallest gift we can take is €0.50.</a>' in markup


def test_back_from_checkout_the_note_is_focused_and_choices_kept(app, client, campaign, stripe_sim):
    donate(client, campaign, amount="50", frequency="monthly", show_amount="1")
    with app.app_context():
        intent = db.session.scalars(select(DonationIntent)).one()
    markup = client.get(f"/donate/cancelled?intent={intent.public_id}").get_data(as_text=True)
    notice = '<p class="form-notice" id="form-notice" role="status" tabindex="-1" autofocus>'
    assert notice in markup
    assert 'id="show_amount" name="show_amount" value="1" checked' in markup
    assert 'id="freq-monthly" name="frequency" value="monthly" checked' in markup


def test_the_landing_page_has_no_focus_grab_and_stays_cacheable(client, campaign):
    response = client.get("/")
    assert "autofocus" not in response.get_data(as_text=True)
    assert response.cache_control.public and "Set-Cookie" not in response.headers
