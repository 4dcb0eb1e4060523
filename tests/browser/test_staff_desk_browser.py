"""In Chromium at a phone's width: the staff overview and the new staff pages fit the screen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fundraiser.models import utcnow
from tests.browser.conftest import VIEWPORTS
from tests.dashboard import factories as f
from tests.dashboard.conftest import sign_in_session

pytestmark = pytest.mark.browser

PHONE_PAGES = ["/staff/", "/staff/?period=last_month", "/staff/campaigns/new"]


@pytest.fixture
def staff_cookie(app) -> str:
    with app.app_context():
        euro = f.make_campaign(
            "a-very-long-campaign-slug-that-could-push-the-page-wider-than-a-phone",
            "EUR",
            title="What lies behind Kazakhstan’s turmoil? A very long title for a narrow screen",
        )
        pound = f.make_campaign("pound-appeal", "GBP")
        now = utcnow()
        for day in range(12):
            when = now - timedelta(days=day * 4, hours=1)
            f.payment(euro, 123_456_78, fee_minor=50, occurred_at=when, email=f"d{day}@example.org")
            f.payment(pound, 9_999_99, occurred_at=when, email=f"p{day}@example.org")
        f.pledge(euro, 1000, email="pat@example.org", created_at=now - timedelta(days=1))
        staff = f.make_staff("admin")
    client = app.test_client()
    sign_in_session(client, staff)
    return client.get_cookie("session").value


@pytest.mark.parametrize("path", PHONE_PAGES)
def test_staff_pages_fit_a_390_px_phone_without_sideways_scrolling(
    app, browser, live_server, staff_cookie, artifacts, path
):
    context = browser.new_context(**VIEWPORTS["phone"])
    context.add_cookies([{"name": "session", "value": staff_cookie, "url": live_server.url}])
    page = context.new_page()
    try:
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        assert response.status == 200, path
        assert "/login" not in page.url
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"{path} is {widths[0]} px wide on a {widths[1]} px screen"
        if path.startswith("/staff/?") or path == "/staff/":
            figure = page.locator('[data-figure="overview-EUR-raised"]')
            box = figure.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= widths[1]
            assert box["y"] < 2000, "the overview is not near the top of the page"
            # The combined figure, then each currency and channel beneath it, on screen too.
            for name in (
                "overview-combined-raised",
                "overview-combined-EUR",
                "overview-channel-stripe-GBP",
            ):
                part = page.locator(f'[data-figure="{name}"]').bounding_box()
                assert part is not None, name
                assert part["x"] >= 0 and part["x"] + part["width"] <= widths[1], name
        name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home"
        page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=False)
    finally:
        context.close()


@pytest.fixture
def axe_source() -> str:
    from tests.browser.test_accessibility import AXE

    if not AXE.exists():
        pytest.skip("axe-core is not installed: `make install-test` runs npm ci in tests/a11y")
    return AXE.read_text()


def _fits(page) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide on a {widths[1]} px screen"


def test_staff_set_a_ladder_on_a_phone_and_the_form_offers_it(
    app, browser, live_server, staff_cookie, artifacts, axe_source
):
    from playwright.sync_api import expect

    from tests.browser.test_accessibility import blocking_violations

    slug = "pound-appeal"
    context = browser.new_context(**VIEWPORTS["phone"], bypass_csp=True)
    context.add_cookies([{"name": "session", "value": staff_cookie, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/campaigns/{slug}/edit", wait_until="load")
        page.get_by_label("The form opens on").select_option("monthly")
        page.get_by_label("Monthly amounts").fill("5, 10, 20, x")
        page.get_by_label("Monthly impact lines").fill("10 = A week of translation")
        page.get_by_role("button", name="Save campaign").click()
        # Refused: the message sits by its field, the page still fits and passes axe.
        expect(page.locator("#presets_monthly-error")).to_contain_text("whole amounts")
        expect(page.get_by_label("Monthly amounts")).to_have_attribute("aria-invalid", "true")
        _fits(page)
        assert blocking_violations(page, axe_source) == []
        page.screenshot(path=str(artifacts / "phone-editor-ladder-error.png"), full_page=True)
        page.get_by_label("Monthly amounts").fill("5, 10, 20")
        page.get_by_role("button", name="Save campaign").click()
        expect(page.get_by_text("Saved:")).to_be_visible()
        page.goto(f"{live_server.url}/staff/campaigns/{slug}/edit", wait_until="load")
        expect(page.get_by_label("Monthly amounts")).to_have_value("5, 10, 20")
        _fits(page)
        assert blocking_violations(page, axe_source) == []
        # Readers' form opens on monthly, offers the ladder and says what £10 pays for.
        page.goto(f"{live_server.url}/campaigns/{slug}", wait_until="load")
        expect(page.locator("#freq-monthly")).to_be_checked()
        expect(page.locator("label[for=amount-20]")).to_have_text("£20")
        expect(page.locator("#amount-10")).to_be_checked()
        expect(page.locator("[data-impact]")).to_have_text("A week of translation")
        _fits(page)
    finally:
        context.close()


def test_staff_translate_an_article_on_a_phone_and_german_readers_see_it(
    app, browser, live_server, staff_cookie, artifacts, axe_source
):
    from playwright.sync_api import expect

    from tests.browser.test_accessibility import blocking_violations

    slug = "pound-appeal"
    context = browser.new_context(**VIEWPORTS["phone"], bypass_csp=True)
    context.add_cookies([{"name": "session", "value": staff_cookie, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/staff/campaigns/{slug}/edit", wait_until="load")
        row = page.locator('#translations tr[data-language="de"]')
        expect(row).to_contain_text("None: shows the original with a note")
        _fits(page)
        page.get_by_role("link", name="Translate the Deutsch article").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Deutsch article (new)")
        _fits(page)
        assert blocking_violations(page, axe_source) == []
        # Refused without a title: the message sits by its field, the page passes axe.
        page.get_by_label("Article (Markdown)").fill("Tausende *streikten*.")
        page.get_by_role("button", name="Save Deutsch article").click()
        expect(page.locator("#title-error")).to_contain_text("Please enter the title")
        expect(page.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
        _fits(page)
        assert blocking_violations(page, axe_source) == []
        page.get_by_label("Title").fill("Streikwelle")
        page.get_by_role("button", name="Preview").click()
        expect(page.locator(".editor-preview em")).to_have_text("streikten")
        _fits(page)
        assert blocking_violations(page, axe_source) == []
        page.screenshot(path=str(artifacts / "phone-translation-preview.png"), full_page=True)
        page.get_by_role("button", name="Save Deutsch article").click()
        expect(page.get_by_text("Saved: the Deutsch article")).to_be_visible()
        expect(row).to_contain_text("Translated, updated")
        page.goto(f"{live_server.url}/de/campaigns/{slug}", wait_until="load")
        expect(page.locator("h1.article-title")).to_have_text("Streikwelle")
        expect(page.locator(".article-language-note")).to_have_count(0)
        # Deleting, with the box ticked: the German page shows the original with its note.
        page.goto(f"{live_server.url}/staff/campaigns/{slug}/translations/de", wait_until="load")
        page.get_by_label("Yes, delete this translation").check()
        page.get_by_role("button", name="Delete Deutsch article").click()
        expect(page.get_by_text("Deleted: the Deutsch article")).to_be_visible()
        page.goto(f"{live_server.url}/de/campaigns/{slug}", wait_until="load")
        page.reload(wait_until="load")  # this browser kept the public page (max-age): ask again
        expect(page.locator(".article-language-note")).to_have_count(1)
        expect(page.locator("h1.article-title")).not_to_have_text("Streikwelle")
    finally:
        context.close()
