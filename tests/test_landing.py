"""The landing page: every word of the article, the donation panel, cacheable for everyone."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import SEED_ARTICLE


def visible_text(markup: str) -> str:
    """The page's text as a reader sees it: tags gone, entities decoded, spaces folded."""
    without_tags = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


def seed_lines() -> list[str]:
    return [line.strip() for line in SEED_ARTICLE.read_text("utf-8").splitlines() if line.strip()]


def folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_reader_sees_every_paragraph_of_the_article_in_order(client, campaign):
    page = visible_text(client.get("/").get_data(as_text=True))
    position = 0
    for line in seed_lines():
        if line == "February 2022":
            continue  # shown as the article's date, checked below
        # The one change allowed: the brand is spelled "PayPal" (the seed has "Paypal").
        found = page.find(folded(line).replace("Paypal", "PayPal"), position)
        assert found >= 0, f"missing or out of order: {line[:60]!r}"
        position = found + 1


def test_title_date_caption_and_appeal_are_shown(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    assert '<h1 class="article-title">What lies behind Kazakhstan’s turmoil?</h1>' in markup
    assert '<time datetime="2022-02-01">February 2022</time>' in markup
    # No photo yet: the caption is a line of text.
    assert '<p class="photo-caption">CSTO &#34;peacekeeping forces&#34; in Kazakhstan' in markup
    assert "<h2>Special financial appeal to all readers of socialistworld.net</h2>" in markup
    assert "<h3>Support building alternative socialist media</h3>" in markup


@pytest.mark.parametrize("heading", ["Nothing resolved", "Perspective and programme"])
def test_section_headings_are_real_headings(client, campaign, heading):
    markup = client.get("/").get_data(as_text=True)
    assert re.search(rf"<h[23]>{heading}</h[23]>", markup)


def test_non_ascii_quotes_and_dashes_survive(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    for fragment in [
        "‘comrade’",
        "“Failure to address underlying causes of unrest…",
        "Kazakhstan – a vital trade",
        "0.001%",
        "96%",
    ]:
        assert fragment in html.unescape(markup), fragment


def test_donation_panel_has_presets_custom_amount_and_frequency(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    assert 'action="/donate"' in markup
    for preset in ("10", "25", "50", "100", "250"):
        assert f'name="amount" value="{preset}"' in markup
    assert 'name="amount_other"' in markup
    assert 'value="one-time"' in markup and 'value="monthly"' in markup
    assert 'role="progressbar"' in markup or "<progress" in markup
    assert "€0 raised of €5,000 goal" in visible_text(markup)


def test_paypal_and_patreon_links_count_clicks_and_redirect(app, client, campaign):
    markup = client.get("/").get_data(as_text=True)
    assert "Donate via PayPal" in markup and "Become a patron at Patreon" in markup
    assert f'href="/out/paypal?campaign={campaign}"' in markup
    for address in ("198.51.100.1", "198.51.100.2"):  # two readers: one click each
        response = client.get(
            f"/out/paypal?campaign={campaign}", environ_base={"REMOTE_ADDR": address}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == app.config["PAYPAL_DONATE_URL"]
    response = client.get(f"/out/patreon?campaign={campaign}")
    assert response.headers["Location"] == app.config["PATREON_URL"]
    with app.app_context():
        from fundraiser.campaigns.services import campaign_by_slug, outbound_clicks

        assert outbound_clicks(campaign_by_slug(campaign)) == {"paypal": 2, "patreon": 1}


def test_unknown_outbound_channel_is_404(client, campaign):
    assert client.get("/out/venmo").status_code == 404


def test_anonymous_landing_page_sets_no_cookie_and_is_publicly_cacheable(client, campaign):
    response = client.get("/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    cache = response.cache_control
    assert cache.public and 0 < cache.max_age <= 300
    assert "stale-while-revalidate" in response.headers["Cache-Control"]
    assert 'name="csrf_token"' not in response.get_data(as_text=True)


def test_matching_etag_gets_304_and_a_donation_changes_it(app, client, campaign):
    first = client.get("/")
    etag = first.headers["ETag"]
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304
    from tests.factories import add_payment

    with app.app_context():
        add_payment(campaign, 2_500)
    again = client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag


def test_campaign_by_slug_and_friendly_404(client, campaign):
    assert client.get(f"/campaigns/{campaign}").status_code == 200
    missing = client.get("/campaigns/no-such-thing")
    assert missing.status_code == 404
    assert "We couldn’t find that page" in html.unescape(missing.get_data(as_text=True))
    assert "Traceback" not in missing.get_data(as_text=True)


def test_totals_api_shape(app, client, campaign):
    from tests.factories import add_payment

    with app.app_context():
        add_payment(campaign, 2_500, email="a@example.org")
        add_payment(campaign, 1_000, email="b@example.org")
        add_payment(campaign, 500, email="a@example.org")
    body = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert body == {
        "slug": campaign,
        "currency": "EUR",
        "goal_minor": 500_000,
        "raised_minor": 4_000,
        "supporters": 2,
        "by_currency": {"EUR": 4_000},
        "rate_date": None,
        "by_channel": {"stripe": {"EUR": 4_000}},
    }
    assert client.get("/api/campaigns/nope/totals").status_code == 404


def test_security_headers_on_the_landing_page(client, campaign):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # plain HTTP here
    https = client.get("/", base_url="https://localhost").headers
    assert "max-age=" in https["Strict-Transport-Security"]


def test_no_external_assets(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    # hreflang alternates name the page's own addresses, absolute as search engines want them.
    markup = re.sub(r'<link rel="alternate" hreflang="[^"]+" href="[^"]+">', "", markup)
    assert not re.search(r'(src|href)="(https?:)?//', markup.replace('href="/out/', ""))


def test_landing_without_campaigns_is_a_friendly_404(client):
    response = client.get("/")
    assert response.status_code == 404
    assert "No campaign has been published yet." in response.get_data(as_text=True)
