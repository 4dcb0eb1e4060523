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
        name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home"
        page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=False)
    finally:
        context.close()
