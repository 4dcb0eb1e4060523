"""In Chromium, with axe-core: staff upload PayPal's activity download and Patreon's members
export on /staff/channels (check first, refused rows, skip them, import), read the drift
page's PayPal and Patreon sections, and a supporter's PayPal pledge points to PayPal."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import ChannelNotice, LedgerEntry
from tests.accounts.conftest import add_pledge, make_supporter
from tests.browser.test_accessibility import axe_source, blocking_violations  # noqa: F401, F811
from tests.channels.activity_csv import activity_csv, row
from tests.channels.test_patreon import EXPORT_HEADER
from tests.dashboard import factories as f
from tests.dashboard.conftest import sign_in_session
from tests.helpers import signed_in_session

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

PATREON_ROWS = [
    "Pat One,one@example.org,,,Active patron,No,10.00,5.00,monthly,Tier,,,,,,,,2026-01-01,"
    "2026-11-01 08:00:00,Paid,,U-ONE,,EUR,,,",
    "Bad Row,bad@example.org,,,Active patron,No,1,lots,monthly,Tier,,,,,,,,2026-01-01,"
    "2026-11-01 08:00:00,Paid,,U-BAD,,EUR,,,",
]


@pytest.fixture
def cookies(app, campaign) -> dict:
    with app.app_context():
        staff = f.make_staff("staff")
        supporter = make_supporter("paypal-giver@example.org", name="Giver")
        pledge = add_pledge(campaign, supporter.email, supporter_id=supporter.id)
        pledge.channel, pledge.stripe_subscription_id = "paypal", "paypal:I-BROWSER00001"
        refused = ChannelNotice(channel="paypal", outcome="unverified", reason="not VERIFIED",
                                external_id="FORGED00000000001",
                                raw="charset=windows-1252&txn_id=FORGED00000000001")  # fmt: skip
        db.session.add(refused)
        db.session.commit()
        pledge_id, login = pledge.id, (supporter.id, supporter.session_version)
    staff_client = app.test_client()
    sign_in_session(staff_client, staff)
    reader = app.test_client()
    signed_in_session(reader, *login)
    return {
        "staff": staff_client.get_cookie("session").value,
        "supporter": reader.get_cookie("session").value,
        "pledge_id": pledge_id,
    }


def _page(browser, live_server, cookie: str):
    # bypass_csp lets axe's script in; the pages' own CSP is checked in tests/security.
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "session", "value": cookie, "url": live_server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A refused upload answers 400 on purpose, which Chromium logs as a failed resource;
    # anything else in the console (a CSP violation, a script error) counts.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 400" not in m.text else None
        ),
    )
    return page, errors


def _patreon_form(page):
    return page.locator("form[action$='/channels/patreon-import']")


def _paypal_form(page):
    return page.locator("form[action$='/channels/paypal-import']")


def test_staff_upload_both_exports_and_every_state_is_accessible(
    app,
    browser,
    live_server,
    campaign,
    cookies,
    axe_source,  # noqa: F811
    tmp_path,
):
    paypal_file = tmp_path / "Download.CSV"
    paypal_file.write_bytes(
        activity_csv([row("BROWSER0000000001", "Donation Payment", "12.00"),
                      row("BROWSER0000000002", "General Currency Conversion", "-1.00")])
    )  # fmt: skip
    patreon_file = tmp_path / "members.csv"
    patreon_file.write_text("\n".join([EXPORT_HEADER, *PATREON_ROWS]) + "\n")
    page, errors = _page(browser, live_server, cookies["staff"])
    expect = sync_api.expect
    try:
        assert page.goto(f"{live_server.url}/staff/channels").status == 200
        expect(page.get_by_role("heading", name="Upload Patreon’s members export")).to_be_visible()
        assert blocking_violations(page, axe_source) == []

        # No file chosen: the browser's own check lets it through only without `required`,
        # so post it the way a script would and read the form error.
        form = _patreon_form(page)
        form.evaluate("f => f.noValidate = true")
        form.get_by_role("button", name="Import").click()
        expect(page.locator(".field-error").first).to_be_visible()
        assert blocking_violations(page, axe_source) == []

        # PayPal: check only, then import.
        form = _paypal_form(page)
        form.get_by_label("PayPal activity download (CSV)").set_input_files(str(paypal_file))
        form.get_by_label("Only check the file; import nothing").check()
        form.get_by_role("button", name="Import").click()
        status = page.get_by_role("status")
        expect(status).to_contain_text("Nothing imported from the PayPal file")
        expect(status).to_contain_text("New: 1 · Already known: 0 · Skipped: 1")
        assert blocking_violations(page, axe_source) == []
        form = _paypal_form(page)
        dry_run = form.get_by_label("Only check the file; import nothing")
        expect(dry_run).to_be_checked()  # the options stay as chosen, the file must be again
        dry_run.uncheck()
        form.get_by_label("PayPal activity download (CSV)").set_input_files(str(paypal_file))
        form.get_by_role("button", name="Import").click()
        expect(page.get_by_role("status")).to_contain_text("Imported from the PayPal file")

        # Patreon: a malformed row stops the import, with its line; then skip it.
        form = _patreon_form(page)
        form.get_by_label("Patreon members export (CSV)").set_input_files(str(patreon_file))
        form.get_by_role("button", name="Import").click()
        status = page.get_by_role("status")
        expect(status).to_contain_text("Nothing imported from the Patreon file")
        expect(status).to_contain_text("Line 3: Pledge Amount 'lots' is not an amount")
        assert blocking_violations(page, axe_source) == []
        form = _patreon_form(page)
        form.get_by_label("Patreon members export (CSV)").set_input_files(str(patreon_file))
        form.get_by_label("Import the good rows even if some are refused").check()
        form.get_by_role("button", name="Import").click()
        status = page.get_by_role("status")
        expect(status).to_contain_text("Imported from the Patreon file")
        expect(status).to_contain_text("New: 1")
        page.screenshot(path=str(tmp_path / "channels.png"), full_page=True)

        # The drift page's other channels: the refused IPN, the CSV-only PayPal row, and
        # the patron whose lifetime at Patreon (10.00) is not our 5.00.
        assert page.goto(f"{live_server.url}/staff/drift").status == 200
        expect(page.get_by_role("heading", name="IPN messages not counted (1)")).to_be_visible()
        expect(page.get_by_role("heading", name="PayPal rows no IPN confirmed (1)")).to_be_visible()
        expect(
            page.get_by_role("heading", name="Patrons out of step with Patreon (1)")
        ).to_be_visible()
        page.get_by_text("Show").first.click()
        expect(page.get_by_text("charset=windows-1252&txn_id=FORGED00000000001")).to_be_visible()
        assert blocking_violations(page, axe_source) == []
        assert errors == [], errors
    finally:
        page.context.close()
    with app.app_context():
        booked = db.session.scalars(select(LedgerEntry.external_id).order_by(LedgerEntry.id))
        assert list(booked) == ["BROWSER0000000001", "U-ONE:2026-11-01"]
        assert campaign_by_slug(campaign) is not None


def test_a_paypal_pledge_page_points_to_paypal_and_is_accessible(
    browser,
    live_server,
    cookies,
    axe_source,  # noqa: F811
):
    page, errors = _page(browser, live_server, cookies["supporter"])
    try:
        response = page.goto(f"{live_server.url}/account/pledges/{cookies['pledge_id']}")
        assert response.status == 200
        link = page.get_by_role("link", name="Manage this gift at PayPal")
        sync_api.expect(link).to_have_attribute("href", "https://www.paypal.com/myaccount/autopay/")
        assert page.get_by_role("button", name=re.compile("Cancel|Pause|Change")).count() == 0
        assert blocking_violations(page, axe_source) == []
        page.goto(f"{live_server.url}/account")
        sync_api.expect(page.get_by_text("Managed at PayPal")).to_be_visible()
        assert blocking_violations(page, axe_source) == []
        assert errors == [], errors
    finally:
        page.context.close()
