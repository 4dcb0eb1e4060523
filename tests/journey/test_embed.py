"""The embeddable panel: framable only by the configured origins, cacheable, checkout on top."""

from __future__ import annotations

import re

from tests.dashboard.conftest import sign_in_session
from tests.dashboard.factories import make_staff
from tests.security.test_every_route import csp_directives


def test_the_embed_may_be_framed_only_by_the_allowed_origins(client, campaign, monkeypatch, app):
    monkeypatch.setitem(app.config, "EMBED_ALLOWED_ORIGINS", ["https://www.example.org"])
    response = client.get(f"/embed/{campaign}")
    assert response.status_code == 200
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'self'", "https://www.example.org"]
    assert "X-Frame-Options" not in response.headers
    # Every other page still refuses every frame.
    landing = client.get("/")
    assert csp_directives(landing.headers["Content-Security-Policy"])["frame-ancestors"] == [
        "'none'"
    ]
    assert landing.headers["X-Frame-Options"] == "DENY"


def test_the_embed_is_cacheable_like_the_landing_page(client, campaign):
    response = client.get(f"/embed/{campaign}")
    assert response.cache_control.public and response.cache_control.max_age > 0
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    etag = response.headers["ETag"]
    assert client.get(f"/embed/{campaign}", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/embed/no-such-campaign").status_code == 404


def test_the_embed_is_a_compact_panel_that_opens_checkout_on_top(client, campaign):
    markup = client.get(f"/embed/{campaign}").get_data(as_text=True)
    form = re.search(r'<form class="donate-form embed-form"[^>]*>', markup).group(0)
    assert 'action="/donate"' in form and 'target="_top"' in form
    for part in ('name="frequency"', 'name="amount" value="25"', 'name="currency"', "<progress"):
        assert part in markup, part
    assert 'name="email"' not in markup and "<header" not in markup


def test_the_snippet_loader_is_served_from_a_stable_address(client):
    response = client.get("/embed.js")
    assert response.status_code == 200 and "javascript" in response.mimetype
    assert "fundraiser:height" in response.get_data(as_text=True)
    assert response.cache_control.max_age == 3600


def test_staff_find_the_embed_code_to_copy(app, client, campaign):
    with app.app_context():
        staff = make_staff("viewer")
    sign_in_session(client, staff)
    page = client.get(f"/staff/campaigns/{campaign}").get_data(as_text=True)
    snippet = (
        f'&lt;script src="{app.config["BASE_URL"]}/embed.js" data-campaign="{campaign}" '
        "async&gt;&lt;/script&gt;"
    )
    assert snippet in page and "Copy embed code" in page
