"""A reader gives 25 once and 10 monthly through the real page and the checkout page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Pledge
from tests.helpers import wait_for

pytestmark = pytest.mark.browser


def give(page, base_url: str, campaign: str, amount: str, frequency: str, email: str) -> None:
    page.goto(f"{base_url}/campaigns/{campaign}")
    page.locator(f"label[for=freq-{frequency}]").click()
    if amount in {"5", "10", "25", "50", "100"}:
        page.locator(f"label[for=amount-{amount}]").click()
    else:
        page.fill("#amount_other", amount)
    page.fill("#email", email)
    page.locator("button.donate-button").click()
    page.wait_for_url("**/c/pay/**")
    page.fill("#card_number", "4242 4242 4242 4242")
    page.fill("#card_expiry", "12 / 34")
    page.fill("#card_cvc", "123")
    page.fill("#name", "Ada Reader")
    page.click("#submit")
    page.wait_for_url("**/donate/thanks**")


def test_reader_gives_once_and_monthly_and_the_books_show_exactly_that(
    app, desktop, campaign, stripe_sim, served_at_live_url, artifacts
):
    page = desktop.page
    give(page, served_at_live_url, campaign, "25", "one-time", "ada@example.org")
    assert "€25.00" in page.inner_text("main")
    assert "Your payment has been received" in page.inner_text("main")
    page.screenshot(path=str(artifacts / "donate-thanks-once.png"), full_page=True)
    give(page, served_at_live_url, campaign, "10", "monthly", "ada@example.org")
    assert "every month" in page.inner_text("main")
    stripe_sim.flush()
    with app.app_context():
        rows = wait_for(
            lambda: (r := list(db.session.scalars(select(LedgerEntry)))) and len(r) == 2 and r
        )
        assert sorted((r.amount_minor, r.frequency) for r in rows) == [
            (1000, "monthly"),
            (2500, "one-time"),
        ]
        assert db.session.scalar(select(Pledge.status)) == "active"
    page.goto(f"{served_at_live_url}/campaigns/{campaign}")
    # The live totals show both gifts (Playwright's own check, which our CSP allows).
    expect(page.locator("[data-field=raised]").first).to_contain_text("35")
    ours = [p for p in desktop.problems.failed_requests if p.startswith(served_at_live_url)]
    assert ours == [] and desktop.problems.page_errors == [], desktop.problems.all()


def test_declined_card_shows_the_error_and_counts_nothing(
    app, desktop, campaign, stripe_sim, served_at_live_url
):
    page = desktop.page
    page.goto(f"{served_at_live_url}/campaigns/{campaign}")
    page.locator("label[for=amount-50]").click()
    page.locator("button.donate-button").click()
    page.wait_for_url("**/c/pay/**")
    page.fill("#card_number", "4000 0000 0000 0002")
    page.fill("#card_expiry", "12 / 34")
    page.fill("#card_cvc", "123")
    page.click("#submit")
    assert "declined" in page.inner_text("#error")
    page.click("#cancel")
    page.wait_for_url("**/donate/cancelled**")
    assert page.input_value("#amount_other") == "50"
    with app.app_context():
        assert db.session.scalar(select(LedgerEntry.id)) is None


def test_during_a_card_testing_attack_a_reader_passes_the_check_without_doing_anything(
    app, client, desktop, campaign, stripe_sim, served_at_live_url
):
    from fundraiser.donations.abuse import Thresholds
    from tests.helpers import ORIGIN

    original = app.config.get("ABUSE_THRESHOLDS")
    app.config["ABUSE_THRESHOLDS"] = Thresholds(small_per_network=3, difficulty=10)
    try:
        for n in range(4):  # the attack: many tiny checkouts from the reader's own network
            client.post(
                "/donate",
                data={
                    "campaign": campaign,
                    "amount": "other",
                    "amount_other": "1",
                    "currency": "EUR",
                },  # fmt: skip
                headers=ORIGIN,
                environ_base={"REMOTE_ADDR": f"127.0.0.{n + 2}"},
            )
        page = desktop.page
        challenges: list[str] = []
        page.on(
            "response",
            lambda r: r.url.endswith("/donate") and r.status == 200 and challenges.append(r.url),
        )
        page.goto(f"{served_at_live_url}/campaigns/{campaign}")
        page.locator("label[for=amount-25]").click()
        page.locator("button.donate-button").click()
        # The proof-of-work page solves itself and moves on to Stripe's checkout.
        page.wait_for_url("**/c/pay/**", timeout=20_000)
    finally:
        app.config["ABUSE_THRESHOLDS"] = original
    assert challenges, "the reader was never asked for the proof of work"
    assert desktop.problems.page_errors == []
