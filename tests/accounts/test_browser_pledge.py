"""In Chromium: register, confirm from the outbox, give monthly, then lower, pause, resume and
cancel the gift from the account, with the simulator confirming each change by webhook."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.accounts.conftest import PASSWORD
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, open_visit

pytestmark = pytest.mark.browser

EMAIL = "browser-patron@example.org"


@pytest.fixture
def site(app, live_server, stripe_sim):
    """Links in mail and Stripe's return pages point at the live server for this test."""
    base = app.config["BASE_URL"]
    app.config["BASE_URL"] = live_server.url
    yield live_server.url
    app.config["BASE_URL"] = base


def _settle(page, stripe_sim, url: str) -> None:
    stripe_sim.flush(timeout=15)
    page.goto(url)


def in_own_chromium(story) -> None:
    """Run a browser story with its own Playwright, on its own thread.

    Playwright's sync API allows one session per thread, and tests/browser keeps one open for
    the whole run; a thread of our own keeps the two apart whatever order tests run in.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's Chromium")

    def run() -> None:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                story(chromium)
            finally:
                chromium.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


def test_patron_manages_a_monthly_gift_in_the_browser(site, campaign, stripe_sim, mailbox):
    in_own_chromium(lambda chromium: _monthly_gift_story(chromium, site, stripe_sim, mailbox))


def _monthly_gift_story(browser, site, stripe_sim, mailbox) -> None:
    visit = open_visit(browser, "desktop")
    page = visit.page
    our_errors = []  # the simulator's pages (no favicon) are not ours to judge
    page.on(
        "console",
        lambda m: m.type == "error" and page.url.startswith(site) and our_errors.append(m.text),
    )
    try:
        page.goto(f"{site}/account/register")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.get_by_role("heading", name="Check your email").wait_for()

        page.goto(site + mailbox.link(EMAIL, "/account/verify/").removeprefix(site))
        page.get_by_role("button", name="Confirm my email address").click()
        page.get_by_text("your email address is confirmed").wait_for()
        # The link signed the supporter in.
        page.get_by_role("heading", name="Your giving").wait_for()

        page.goto(f"{site}/")
        page.locator("label[for=freq-monthly]").click()
        page.locator("label[for=amount-other]").click()
        page.locator("#amount_other").fill("10")
        page.locator("#email").fill(EMAIL)
        page.get_by_role("button", name="Donate securely").click()
        page.locator("#card_number").fill("4242 4242 4242 4242")
        page.locator("#card_expiry").fill("12 / 34")
        page.locator("#card_cvc").fill("123")
        page.locator("#submit").click()
        page.wait_for_url(re.compile(r".*/donate/thanks.*"))

        _settle(page, stripe_sim, f"{site}/account")
        assert "€10.00 every month" in page.locator(".account-pledges").inner_text()
        page.get_by_role("link", name=re.compile("Manage")).click()
        pledge_url = page.url

        page.get_by_label("New amount").fill("5")
        page.get_by_role("button", name="Change amount").click()
        page.get_by_text("Your new amount will be used").wait_for()
        _settle(page, stripe_sim, pledge_url)
        assert "€5.00 every month" in page.locator(".account-facts").inner_text()

        page.get_by_label("2 months").check()
        page.get_by_role("button", name="Pause my gift").click()
        page.get_by_text("Your pledge is paused").wait_for()
        _settle(page, stripe_sim, pledge_url)
        assert "Paused" in page.locator(".account-facts").inner_text()

        page.get_by_role("button", name="Resume my gift").click()
        page.get_by_text("running again").wait_for()
        _settle(page, stripe_sim, pledge_url)
        assert "Active" in page.locator(".account-facts").inner_text()

        page.get_by_label(re.compile("Why are you cancelling")).fill("Trying another way to help")
        page.get_by_role("button", name="Cancel my gift…").click()
        page.get_by_role("button", name="Yes, cancel my gift").click()
        page.get_by_text("Your pledge is cancelled").wait_for()
        _settle(page, stripe_sim, pledge_url)
        assert "Cancelled" in page.locator(".account-facts").inner_text()
        assert our_errors == [], visit.problems
        assert visit.problems.page_errors == []
        # A request cut short by the next navigation (ERR_ABORTED) is not a fault.
        failed = [r for r in visit.problems.failed_requests if "ERR_ABORTED" not in r]
        assert failed == []
    finally:
        page.context.close()
