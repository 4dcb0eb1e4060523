"""The language is part of the address: /de/…, one shared cacheable copy per language."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from fundraiser.i18n import LANGUAGES

CACHE_HEADERS = ("Cache-Control", "Vary", "Set-Cookie", "X-Frame-Options")


def _alternates(markup: str) -> dict[str, str]:
    return dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', markup))


@pytest.mark.parametrize("language", ["de", "fr", "es", "ru"])
def test_language_page_is_cacheable_exactly_like_the_english_one(client, campaign, language):
    english = client.get("/")
    other = client.get(f"/{language}/")
    assert english.status_code == other.status_code == 200
    for name in CACHE_HEADERS:
        assert english.headers.get(name) == other.headers.get(name), name
    assert "Set-Cookie" not in other.headers
    assert "Cookie" not in other.headers.get("Vary", "")
    assert other.cache_control.public and other.cache_control.max_age > 0
    assert other.headers["Content-Language"] == language
    # Each language is its own copy: its own ETag, and a matching one gets a 304.
    assert other.headers["ETag"] != english.headers["ETag"]
    again = client.get(f"/{language}/", headers={"If-None-Match": other.headers["ETag"]})
    assert again.status_code == 304
    assert f'<html lang="{language}">' in other.get_data(as_text=True)


def test_english_stays_unprefixed_and_keeps_its_links(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in markup
    assert 'action="/donate"' in markup
    assert client.get("/en/").status_code == 404


def test_links_stay_in_the_readers_language(client, campaign):
    markup = client.get(f"/de/campaigns/{campaign}").get_data(as_text=True)
    assert 'action="/de/donate"' in markup
    assert 'href="/de/account"' in markup
    # JSON, /out and static files are the same for every language.
    assert f'data-totals-url="/api/campaigns/{campaign}/totals"' in markup
    assert f'href="/out/paypal?campaign={campaign}"' in markup
    assert "/de/static/" not in markup


def test_embed_in_german(client, campaign):
    response = client.get(f"/de/embed/{campaign}")
    assert response.status_code == 200
    markup = response.get_data(as_text=True)
    assert '<html lang="de">' in markup and 'action="/de/donate"' in markup
    assert response.headers.get("Vary") == client.get(f"/embed/{campaign}").headers.get("Vary")


def test_hreflang_alternates_are_absolute_reciprocal_and_resolve(app, client, campaign):
    base = app.config["BASE_URL"].rstrip("/")
    for path in ("/", f"/campaigns/{campaign}", f"/embed/{campaign}"):
        seen = _alternates(client.get(path).get_data(as_text=True))
        assert set(seen) == {*LANGUAGES, "x-default"}, path
        assert seen["x-default"] == seen["en"] == base + path
        for language in LANGUAGES:
            url = seen[language]
            assert url.startswith(base + "/")
            target = urlsplit(url).path
            response = client.get(target)
            assert response.status_code == 200, url
            # Reciprocal: the alternate names the same set, itself included.
            assert _alternates(response.get_data(as_text=True)) == seen, url


def test_switcher_is_a_plain_list_of_links_marking_the_current_language(client, campaign):
    markup = client.get("/fr/").get_data(as_text=True)
    nav = re.search(r'<nav class="language-switcher"[^>]*>(.*?)</nav>', markup, re.S)
    assert nav, "no language switcher"
    links = re.findall(r'<a href="([^"]+)" hreflang="(\w+)" lang="\w+"([^>]*)>([^<]+)</a>', nav[1])
    assert [code for _, code, _, _ in links] == list(LANGUAGES)
    current = [code for _, code, attrs, _ in links if 'aria-current="true"' in attrs]
    assert current == ["fr"]
    assert {name for *_, name in links} >= {"Deutsch", "Français", "Русский"}


@pytest.mark.parametrize(
    "path", ["/de/donate/cancelled", "/de/account/login", "/de/account/register"]
)
def test_supporter_pages_have_a_german_address(client, campaign, path):
    response = client.get(path)
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/de/")
    else:
        assert '<html lang="de">' in response.get_data(as_text=True)


def test_german_error_page_is_in_german_and_staff_has_no_prefix(client, campaign):
    missing = client.get("/de/campaigns/no-such-thing")
    assert missing.status_code == 404
    assert '<html lang="de">' in missing.get_data(as_text=True)
    nowhere = client.get("/de/no/such/page")
    assert nowhere.status_code == 404
    assert '<html lang="de">' in nowhere.get_data(as_text=True)
    assert client.get("/de/staff/").status_code == 404
    assert client.get("/de/api/campaigns/x/totals").status_code == 404


def test_german_donate_form_errors_stay_german(client, campaign):
    response = client.post(
        "/de/donate",
        data={"campaign": campaign, "amount": "other", "amount_other": "x", "currency": "EUR"},
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 400
    markup = response.get_data(as_text=True)
    assert '<html lang="de">' in markup and 'action="/de/donate"' in markup
