"""Craft: fingerprinted static files, page weight, compression, the site's own words."""

from __future__ import annotations

import html
import re

import pytest
from werkzeug.exceptions import default_exceptions

from tests.conftest import REPO_ROOT
from tests.helpers import ORIGIN

STRAIGHT_APOSTROPHE = re.compile(r"[A-Za-z]'[a-z]")


def assets(markup: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', markup)


def test_static_files_have_fingerprinted_names_and_are_cached_for_ever(client, campaign):
    linked = assets(client.get("/").get_data(as_text=True))
    assert linked and all(re.search(r"\.[0-9a-f]{10}\.(css|js)$", url) for url in linked)
    response = client.get(linked[0])
    assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.immutable and "no-cache" not in response.headers["Cache-Control"]
    stale = re.sub(r"\.[0-9a-f]{10}\.", ".0123456789.", linked[0])
    assert client.get(stale).status_code == 404  # never old content under a new name
    assert client.get("/static/css/site.css").status_code == 200  # plain names still work


def test_the_landing_page_weighs_under_68_kb_of_html_css_and_js(client, campaign):
    # 60 KB until languages came: hreflang links, the switcher, the script's own words and
    # the first-visit language offer added ~5 KB (uncompressed; nginx gzips all of it).
    page = client.get("/")
    total = len(page.data) + sum(len(client.get(url).data) for url in assets(page.text))
    assert total < 68 * 1024, f"{total} bytes"


def test_the_shipped_nginx_compresses_text_and_keeps_fingerprinted_files():
    config = (REPO_ROOT / "deploy" / "nginx-fundraiser.conf").read_text()
    assert re.search(r"^\s*gzip on;", config, re.M)
    types = re.search(r"gzip_types ([^;]+);", config).group(1).split()
    # text/html is always compressed once gzip is on.
    assert {"text/css", "application/javascript", "application/json"} <= set(types)
    assert 'add_header Cache-Control "public, max-age=31536000, immutable";' in config
    assert re.search(r"location ~ \^\S*/embed/", config)


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("GET", "/no-such-page", 404), ("POST", "/", 405), ("GET", "/donate/thanks", 404)],
)
def test_error_pages_speak_in_the_sites_own_words(client, campaign, method, path, code):
    response = client.open(path, method=method)
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == code
    for exception in default_exceptions.values():
        assert exception.description not in text
    assert not STRAIGHT_APOSTROPHE.search(re.sub(r"<[^>]+>", " ", text))


def test_a_413_page_too(app, client, campaign):
    big = client.post("/donate", data={"message": "x" * 300_000}, headers=ORIGIN)
    assert big.status_code == 413
    assert default_exceptions[413].description not in big.get_data(as_text=True)
    assert "Please send something smaller" in html.unescape(big.get_data(as_text=True))


def test_the_interface_uses_curly_apostrophes_and_spells_paypal_one_way(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    panel = markup[markup.index('<aside class="donate-panel"') :]
    text = re.sub(r"<[^>]+>", " ", html.unescape(panel))
    assert not STRAIGHT_APOSTROPHE.search(text), STRAIGHT_APOSTROPHE.findall(text)
    assert "Paypal" not in markup and markup.count("PayPal") >= 2
    for template in (REPO_ROOT / "templates").rglob("*.html"):
        outside_code = re.sub(
            r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", template.read_text(), flags=re.S
        )
        assert not STRAIGHT_APOSTROPHE.search(outside_code), template
