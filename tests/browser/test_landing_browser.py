"""A reader opens the appeal on a phone and a desktop, gives by keyboard, sees totals move."""

from __future__ import annotations

import pytest

from tests.factories import add_payment

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.browser

HEADINGS = [
    ("h1", "What lies behind Kazakhstan’s turmoil?"),
    ("h2", "Nothing resolved"),
    ("h2", "Perspective and programme"),
    ("h2", "Special financial appeal to all readers of socialistworld.net"),
    ("h2", "Support this work"),
]


def focused(page) -> dict:
    """What has the keyboard focus, and how its focus ring (or its label's) is drawn."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const ringed = el.matches("input[type=radio]") ? el.nextElementSibling : el;
          const style = getComputedStyle(ringed);
          return {
            tag: el.tagName.toLowerCase(), name: el.name || "", value: el.value || "",
            checked: !!el.checked, cls: el.className || "",
            outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
            focusVisible: el.matches(":focus-visible"),
          };
        }"""
    )


def tab_until(page, predicate, limit: int = 40) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = focused(page)
        if predicate(state):
            return state
    raise AssertionError(f"Tab never reached the element; last focus was {state}")


def assert_focus_ring(state: dict) -> None:
    assert state["focusVisible"], state
    assert state["outline"] != "none" and state["outlineWidth"] >= 2, state


def test_reader_sees_the_appeal_without_errors_or_sideways_scrolling(
    visit, live_server, campaign, artifacts
):
    page = visit.page
    response = page.goto(f"{live_server.url}/", wait_until="networkidle")
    assert response.status == 200
    for level, text in HEADINGS:
        expect(page.locator(level, has_text=text).first).to_be_visible()
    expect(page.get_by_role("link", name="Donate via PayPal").first).to_be_visible()
    expect(page.get_by_role("link", name="Become a patron at Patreon").first).to_be_visible()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways on {visit.device}: {widths}"
    page.screenshot(path=str(artifacts / f"landing-{visit.device}.png"), full_page=True)
    assert visit.problems.all() == []


def test_keyboard_user_can_pick_an_amount_and_reach_the_donate_button(visit, live_server, campaign):
    page = visit.page
    page.goto(f"{live_server.url}/", wait_until="networkidle")
    amount = tab_until(page, lambda s: s["name"] == "amount")
    assert amount["checked"] and amount["value"] == "25"
    assert_focus_ring(amount)
    page.keyboard.press("ArrowRight")
    moved = focused(page)
    assert moved["name"] == "amount" and moved["value"] == "50" and moved["checked"]
    assert_focus_ring(moved)
    button = tab_until(page, lambda s: "donate-button" in s["cls"])
    assert button["tag"] == "button"
    assert_focus_ring(button)
    assert visit.problems.all() == []


def test_live_totals_update_when_a_gift_arrives(app, desktop, live_server, campaign):
    page = desktop.page
    page.clock.install()  # the panel polls every 15 s; fast-forward instead of waiting
    page.goto(f"{live_server.url}/", wait_until="networkidle")
    panel = page.locator("#donate")
    raised = panel.locator("[data-field=raised]")
    supporters = panel.locator("[data-field=supporters]")
    expect(raised).to_have_text("€0")
    expect(supporters).to_have_text("0")
    with app.app_context():
        add_payment(campaign, 250_000)
        add_payment(campaign, 1_050)
    page.clock.fast_forward(16_000)
    expect(raised).to_have_text("€2,510.50")
    expect(supporters).to_have_text("2")
    expect(panel.locator("[data-field=supporters-label]")).to_have_text("supporters")
    assert panel.locator("progress[data-field=bar]").evaluate("bar => bar.value") == 50
    assert desktop.problems.all() == []


def test_phone_reader_reads_first_and_reaches_the_form_from_the_summary(
    phone, live_server, campaign
):
    page = phone.page
    page.goto(f"{live_server.url}/", wait_until="networkidle")
    article_top = page.locator("article.article-body").bounding_box()["y"]
    panel_top = page.locator("#donate").bounding_box()["y"]
    assert article_top < 844 < panel_top  # the article starts on the first screen, the form after
    page.get_by_role("link", name="Give to this appeal").tap()
    expect(page.get_by_role("heading", name="Support this work")).to_be_in_viewport()
    assert phone.problems.all() == []
