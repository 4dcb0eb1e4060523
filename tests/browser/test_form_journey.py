"""The donation form in a real browser at a phone's and two laptops' sizes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent, Pledge
from fundraiser.money import fee_cover, format_money
from tests.helpers import wait_for

pytestmark = pytest.mark.browser

SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "laptop": {"viewport": {"width": 1366, "height": 768}},
    "wide": {"viewport": {"width": 1440, "height": 900}},
}


@pytest.fixture
def base(served_at_live_url):
    return served_at_live_url


@pytest.fixture
def open_page(browser):
    contexts = []

    def opener(size: str, **options):
        context = browser.new_context(**SIZES[size], **options)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield opener
    for context in contexts:
        context.close()


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement.id")


def in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                    return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }""",
        selector,
    )


def labels(page) -> list[str]:
    return page.locator(".amount-grid label").all_inner_texts()


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_presets_follow_the_currency_and_the_frequency(open_page, base, campaign, size):
    page = open_page(size)
    page.goto(f"{base}/campaigns/{campaign}")
    assert labels(page) == ["€10", "€25", "€50", "€100", "€250", "Other"]
    page.select_option("#currency", "GBP")
    assert labels(page) == ["£10", "£25", "£50", "£100", "£250", "Other"]
    expect(page.locator("[data-fee-line]")).to_have_text(
        f"Add {format_money(fee_cover(2500, 'GBP'), 'GBP')} so we receive all £25"
    )
    page.locator("label[for=freq-monthly]").click()
    assert labels(page) == ["£5", "£10", "£20", "£35", "£50", "Other"]
    assert page.is_checked("#amount-10")
    expect(page.locator("[data-nudge]")).to_be_hidden()
    page.fill("#amount_other", "12.50")
    expect(page.locator("[data-fee-line]")).to_have_text(
        f"Add {format_money(fee_cover(1250, 'GBP'), 'GBP')} so we receive all £12.50"
    )
    page.select_option("#currency", "USD")
    assert labels(page)[:2] == ["$5", "$10"]
    assert page.errors == []


def test_the_monthly_prompt_switches_the_ladder(open_page, base, campaign):
    page = open_page("laptop")
    page.goto(f"{base}/campaigns/{campaign}")
    page.get_by_role("button", name="Make it monthly").click()
    assert page.is_checked("#freq-monthly")
    assert labels(page)[0] == "€5"


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_errors_are_found_before_posting_and_focused(open_page, base, campaign, size):
    page = open_page(size)
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    page.goto(f"{base}/campaigns/{campaign}")
    page.fill("#amount_other", "0.01")
    page.fill("#email", "not an email")
    page.locator("button.donate-button").click()
    expect(page.locator("#form-error")).to_be_focused()
    assert in_view(page, "#form-error")
    expect(page.locator("#amount-error")).to_have_text("The smallest gift we can take is €0.50.")
    expect(page.locator("#email-error")).to_contain_text("check your email")
    assert posts == []


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
@pytest.mark.parametrize("size", ["phone", "wide"])
def test_a_server_refusal_opens_at_the_form_with_the_message_focused(
    open_page, base, campaign, size, script
):
    page = open_page(size, java_script_enabled=script)
    page.goto(f"{base}/campaigns/{campaign}")
    # Passes the page's own checks; the server refuses a reserved domain.
    page.fill("#email", "reader@example.invalid")
    with page.expect_navigation():
        page.locator("button.donate-button").click()
    assert page.url.endswith("/donate")
    expect(page.locator("#form-error")).to_be_focused()
    assert in_view(page, "#form-error")
    expect(page.locator("#email-error")).to_be_visible()


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_back_from_checkout_the_note_is_in_view_and_focused(
    open_page, base, campaign, stripe_sim, size
):
    page = open_page(size)
    page.goto(f"{base}/campaigns/{campaign}")
    page.locator("label[for=amount-50]").click()
    page.locator("button.donate-button").click()
    page.wait_for_url("**/c/pay/**")
    page.click("#cancel")
    page.wait_for_url("**/donate/cancelled**")
    expect(page.locator("#form-notice")).to_be_focused()
    assert in_view(page, "#form-notice")
    assert page.input_value("#amount_other") == "50"


def test_on_a_phone_a_donate_bar_follows_the_reader_to_the_form(open_page, base, campaign):
    page = open_page("phone")
    page.goto(f"{base}/campaigns/{campaign}")
    bar = page.locator(".donate-bar")
    page.mouse.wheel(0, 4000)
    expect(bar).to_be_visible()
    assert in_view(page, ".donate-bar")
    bar.click()
    expect(bar).to_be_hidden()
    assert in_view(page, ".panel-title")


@pytest.mark.parametrize("size", ["laptop", "wide"])
def test_on_a_laptop_the_whole_form_fits_the_first_screen(open_page, base, campaign, size):
    page = open_page(size)
    page.goto(f"{base}/campaigns/{campaign}")
    assert in_view(page, "button.donate-button")
    expect(page.locator(".donate-bar")).to_be_hidden()
    panel = page.evaluate(
        """() => { const p = document.querySelector('.donate-panel');
                   return [p.scrollHeight, p.clientHeight, getComputedStyle(p).overflowY]; }"""
    )
    assert panel[0] <= panel[1] and panel[2] == "visible", panel
    # Still true after reading half the article: the panel follows.
    page.mouse.wheel(0, 5000)
    page.wait_for_function("() => window.scrollY > 1000")
    assert in_view(page, "button.donate-button")


def test_after_a_one_off_gift_one_click_makes_it_monthly(
    app, open_page, base, campaign, stripe_sim
):
    page = open_page("phone")

    def pay_at_checkout():
        page.wait_for_url("**/c/pay/**")
        page.fill("#card_number", "4242 4242 4242 4242")
        page.fill("#card_expiry", "12 / 34")
        page.fill("#card_cvc", "123")
        page.fill("#name", "Ada Reader")
        page.click("#submit")
        page.wait_for_url("**/donate/thanks**")

    page.goto(f"{base}/campaigns/{campaign}")
    page.fill("#email", "ada@example.org")
    page.check("#cover_fees")
    page.locator("button.donate-button").click()
    pay_at_checkout()
    upgrade = page.get_by_role("button", name="Give €25 every month")
    upgrade.click()
    pay_at_checkout()
    assert "every month" in page.inner_text("main")
    expect(page.get_by_role("button", name="Give €25 every month")).to_have_count(0)
    stripe_sim.flush()
    with app.app_context():
        monthly = db.session.scalars(
            select(DonationIntent).where(DonationIntent.frequency == "monthly")
        ).one()
        assert (monthly.amount_minor, monthly.email) == (2500, "ada@example.org")
        assert monthly.fee_cover_minor == fee_cover(2500, "EUR")
        wait_for(lambda: db.session.scalar(select(Pledge.status)) == "active")


def test_a_payment_moves_an_open_pages_bar_without_a_reload(
    app, client, open_page, base, campaign, stripe_sim
):
    from tests.helpers import donate, pay, session_id_from

    page = open_page("phone")
    page.goto(f"{base}/campaigns/{campaign}")
    raised = page.locator(".donate-panel [data-field=raised]")
    expect(raised).to_have_text("€0")
    page.evaluate("() => { window.notReloaded = true; }")
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="250")))
    # Polled every 2 s; Playwright's default 5 s wait is the promise.
    expect(raised).to_have_text("€250")
    expect(page.locator(".donate-panel [data-field=bar]")).to_have_attribute("value", "5")
    assert page.evaluate("() => window.notReloaded === true")


def test_the_supporters_wall_shows_what_donors_and_staff_allowed(app, open_page, base, campaign):
    from fundraiser.campaigns.services import campaign_by_slug
    from fundraiser.donations.wall import moderate
    from tests.dashboard.factories import gift_with_message

    with app.app_context():
        found = campaign_by_slug(campaign)
        approved = gift_with_message(found, "Solidarity!", name="Ada King", show_amount=True)
        gift_with_message(found, "Waiting", name="Bea Shy", anonymous=True)
        moderate(approved.id, "approved", "staff:test")
        db.session.commit()
    page = open_page("phone")
    page.goto(f"{base}/campaigns/{campaign}")
    wall = page.locator(".wall")
    expect(wall.locator(".wall-entry")).to_have_count(2)
    expect(wall).to_contain_text("Ada gave €25")
    expect(wall).to_contain_text("Solidarity!")
    expect(wall).to_contain_text("Anonymous")
    expect(wall).not_to_contain_text("Bea")
    expect(wall).not_to_contain_text("Waiting")


def test_no_supporter_page_scrolls_sideways_on_a_phone(app, browser, live_server, campaign):
    from tests.browser.test_accessibility import PAGES, make_people

    found = make_people(app, campaign)
    context = browser.new_context(**SIZES["phone"])
    context.add_cookies(
        [{"name": "session", "value": found.cookies["supporter"], "url": live_server.url}]
    )
    page = context.new_page()
    wide = []
    try:
        for name, who, path in PAGES:
            if who == "staff":
                continue
            page.goto(live_server.url + path.format(**found.values))
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            if overflow > 0:
                wide.append((name, overflow))
    finally:
        context.close()
    assert wide == []


class _ArticleSite:
    """Another origin on loopback: an article page carrying the one-line embed snippet."""

    def __init__(self, app_url: str, slug: str, lang: str = "en"):
        import http.server
        import threading

        body = (
            f"<!doctype html><html lang={lang}><head><title>An article</title></head><body>"
            "<h1>An article</h1><p>Words.</p>"
            f'<script src="{app_url}/embed.js" data-campaign="{slug}" async></script>'
            "</body></html>"
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def article_sites(base, campaign):
    sites = [_ArticleSite(base, campaign), _ArticleSite(base, campaign)]
    yield sites
    for site in sites:
        site.close()


def test_the_embed_works_in_an_allowed_sites_article_and_checkout_opens_on_top(
    app, open_page, base, campaign, stripe_sim, article_sites, monkeypatch
):
    allowed, refused = article_sites
    monkeypatch.setitem(app.config, "EMBED_ALLOWED_ORIGINS", [allowed.url])
    page = open_page("laptop")
    page.goto(allowed.url)
    frame_element = page.locator("iframe")
    expect(frame_element).to_have_count(1)
    panel = page.frame_locator("iframe")
    expect(panel.locator(".panel-title")).to_be_visible()
    # The frame told the page its height, so nothing inside it scrolls.
    page.wait_for_function("() => document.querySelector('iframe').style.height !== '520px'")
    panel.locator("label[for=freq-monthly]").click()
    expect(panel.locator("label[for=amount-10]")).to_have_text("€10")
    panel.locator("button.donate-button").click()
    page.wait_for_url("**/c/pay/**")  # the reader's own window, not the frame

    other = open_page("laptop")
    other.goto(refused.url)
    expect(other.locator("iframe")).to_have_count(1)
    # Chromium replaces a refused frame with its error page.
    for _ in range(100):
        if any(f.url.startswith("chrome-error://") for f in other.frames):
            break
        other.wait_for_timeout(100)  # lets Playwright deliver the frame's events
    assert [f.url for f in other.frames][1:] == ["chrome-error://chromewebdata/"]
    assert other.frame_locator("iframe").locator(".panel-title").count() == 0


def test_the_embed_speaks_the_host_pages_language(app, open_page, base, campaign, monkeypatch):
    site = _ArticleSite(base, campaign, lang="de-AT")
    try:
        monkeypatch.setitem(app.config, "EMBED_ALLOWED_ORIGINS", [site.url])
        page = open_page("laptop")
        page.goto(site.url)
        expect(page.locator("iframe")).to_have_attribute("src", f"{base}/de/embed/{campaign}")
        panel = page.frame_locator("iframe")
        expect(panel.locator("html")).to_have_attribute("lang", "de")
        expect(panel.locator("button.donate-button")).not_to_have_text("Donate securely")
    finally:
        site.close()
