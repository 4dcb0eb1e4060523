"""In Chromium: German pages format live totals the German way; a first visit to / from a
German browser is offered the German page (decided in the browser, so / never varies)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import VIEWPORTS
from tests.factories import add_payment

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.browser
NBSP = "\u00a0"


def test_live_totals_on_the_german_page_are_german(app, desktop, live_server, campaign):
    page = desktop.page
    page.clock.install()  # the panel polls every 15 s; fast-forward instead of waiting
    page.goto(f"{live_server.url}/de/", wait_until="networkidle")
    panel = page.locator("#donate")
    raised = panel.locator("[data-field=raised]")
    expect(raised).to_have_text(f"0{NBSP}€")
    expect(panel.locator("[data-field=goal]")).to_have_text(f"5.000{NBSP}€")
    with app.app_context():
        add_payment(campaign, 250_000)
        add_payment(campaign, 1_050)
    page.clock.fast_forward(16_000)
    # The figure came from the JSON and was formatted by Intl.NumberFormat for <html lang="de">.
    expect(raised).to_have_text(f"2.510,50{NBSP}€")
    expect(panel.locator("[data-field=supporters]")).to_have_text("2")
    assert desktop.problems.all() == []


def test_german_reader_types_a_decimal_comma(desktop, live_server, campaign):
    page = desktop.page
    page.goto(f"{live_server.url}/de/", wait_until="networkidle")
    form = page.locator(".donate-form")
    form.locator("label[for=amount-other]").click()
    form.locator("#amount_other").fill("12,50")
    form.locator("#amount_other").blur()
    expect(form.locator("#amount-error")).to_be_hidden()
    expect(form.locator("[data-fee-line]")).to_contain_text(f"12,50{NBSP}€")
    assert desktop.problems.all() == []


def test_first_visit_from_a_german_browser_is_offered_the_german_page(
    browser, live_server, campaign
):
    context = browser.new_context(locale="de-DE", **VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        response = page.goto(f"{live_server.url}/", wait_until="networkidle")
        assert (
            "Vary" not in response.headers
            or "accept-language" not in response.headers["vary"].lower()
        )
        offer = page.locator(".language-offer a")
        expect(offer).to_have_text("Diese Seite auf Deutsch lesen")
        assert offer.get_attribute("href").endswith("/de/")
        assert page.locator(".language-offer").get_attribute("lang") == "de"
        # Offered once: the next visit to / is left alone.
        page.goto(f"{live_server.url}/", wait_until="networkidle")
        expect(page.locator(".language-offer")).to_have_count(0)
    finally:
        context.close()


def test_english_browser_gets_no_offer(browser, live_server, campaign):
    context = browser.new_context(locale="en-GB", **VIEWPORTS["desktop"])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/", wait_until="networkidle")
        expect(page.locator(".language-switcher a[hreflang=de]")).to_have_text("Deutsch")
        expect(page.locator(".language-offer")).to_have_count(0)
    finally:
        context.close()
