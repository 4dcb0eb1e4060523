"""In Chromium: staff sign in with TOTP, read the chart and figures, filter, and export a CSV."""

from __future__ import annotations

import csv
import re
import threading
from datetime import timedelta

import pyotp
import pytest

from fundraiser.models import EntryKind, utcnow
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.dashboard import factories as f

pytestmark = pytest.mark.browser


def in_own_thread(scenario) -> None:
    """Run a Playwright scenario in a thread of its own.

    Playwright's sync API allows one instance per thread, and other browser tests may hold
    one open in the main thread for the whole session.
    """
    failure: list[BaseException] = []

    def run():
        try:
            scenario()
        except BaseException as exc:  # re-raised in the test's thread below
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=180)
    assert not worker.is_alive(), "the browser scenario did not finish in time"
    if failure:
        raise failure[0]


@pytest.fixture
def seeded(app):
    with app.app_context():
        campaign = f.make_campaign(
            "kazakhstan", "EUR", title="What lies behind Kazakhstan’s turmoil?"
        )
        pledge = f.pledge(campaign, 1000, email="pat@example.org")
        now = utcnow()
        for day in range(21):
            when = now - timedelta(days=day, hours=1)
            email = f"d{day % 7}@example.org"
            f.payment(campaign, 1500 + 250 * (day % 5), fee_minor=50, occurred_at=when, email=email)
            if day % 3 == 0:
                f.payment(
                    campaign, 1000, frequency="monthly", pledge=pledge, fee_minor=40,
                    occurred_at=when - timedelta(hours=1), email="pat@example.org",
                )  # fmt: skip
        refunded = f.payment(
            campaign, 5000, occurred_at=now - timedelta(days=2), email="big@example.org"
        )
        f.refund(refunded, 2000)
        f.movement(
            f.payment(campaign, 4200, email="chargeback@example.org"),
            EntryKind.DISPUTE_OPENED,
            -4200,
        )
        f.payment(campaign, 3000, currency="GBP", email="uk@example.org")
        return f.make_staff("staff", email="editor@staff.example.org", enrolled=False)


def test_staff_sign_in_with_totp_read_the_dashboard_filter_and_export(live_server, seeded):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    staff = seeded

    def scenario():
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context = browser.new_context(
                viewport={"width": 1366, "height": 900}, accept_downloads=True
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(f"{live_server.url}/staff/")
            expect(page).to_have_url(re.compile(r"/staff/login"))
            page.get_by_label("Email").fill(staff.email)
            page.get_by_label("Password").fill(staff.password)
            page.get_by_role("button", name="Continue").click()

            # First sign-in: the QR code and the key by hand; read the key as a phone would.
            expect(
                page.get_by_role("heading", name=re.compile("authenticator app"))
            ).to_be_visible()
            expect(page.locator("img.qr")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard-enrol.png"), full_page=True)
            secret = page.locator("[data-secret]").inner_text().strip()
            page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
            page.get_by_role("button", name="Confirm and continue").click()
            expect(page.locator(".recovery-codes li")).to_have_count(10)
            page.get_by_role("link", name=re.compile("continue to the dashboard")).click()

            # The overview: figures and the server-drawn chart with its table.
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            expect(page.locator('[data-figure="EUR-all-gross"]')).to_be_visible()
            expect(
                page.locator('svg.chart[data-currency="EUR"] rect.bar-one-off').first
            ).to_be_visible()
            expect(
                page.locator('svg.chart[data-currency="EUR"] rect.bar-recurring').first
            ).to_be_attached()
            assert page.locator('[data-figure="GBP-all-gross"]').inner_text() == "£30.00"
            page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

            # Donations: filter to refunded ones, then export what the filter shows.
            page.get_by_role("link", name="Donations", exact=True).click()
            page.get_by_label("Status").select_option("partially_refunded")
            page.get_by_role("button", name="Filter").click()
            rows = page.locator("table.donations tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("big@example.org")
            page.screenshot(path=str(ARTIFACTS / "dashboard-donations.png"), full_page=True)
            with page.expect_download() as download_info:
                page.get_by_role("link", name="Export CSV").click()
            download = download_info.value
            assert download.suggested_filename.startswith("donations-")
            with open(download.path(), newline="", encoding="utf-8") as handle:
                exported = list(csv.DictReader(handle))
            assert [
                (r["donor_email"], r["amount_minor"], r["refunded_minor"]) for r in exported
            ] == [("big@example.org", "5000", "2000")]

            # The detail page with its ledger and the refund form.
            rows.first.get_by_role("link").click()
            expect(page.get_by_role("heading", name="Ledger entries")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard-donation.png"), full_page=True)
            page.get_by_role("link", name="Campaigns").click()
            page.get_by_role("link", name=re.compile("Kazakhstan")).click()
            expect(page.get_by_role("heading", name="Best days (EUR)")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "dashboard-campaign.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{live_server.url}/staff/")
            page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
            assert errors == [], errors  # no CSP violations or script errors
            browser.close()

    in_own_thread(scenario)
