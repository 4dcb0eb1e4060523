"""Shared public responses served again before Flask: same bytes, fresh ids, nothing private."""

from __future__ import annotations

import logging

import pytest

from fundraiser.cache import snapshots
from fundraiser.campaigns import services
from fundraiser.extensions import db
from fundraiser.shared_responses import _shareable
from tests.accounts.conftest import login, make_supporter
from tests.factories import add_payment


@pytest.fixture
def sharing(app, monkeypatch):
    """Snapshots on for 30 s (tests run with them off); the store emptied before and after."""
    monkeypatch.setitem(app.config, "PAGE_SNAPSHOT_SECONDS", 30)
    snapshots(app).clear()
    yield
    snapshots(app).clear()


@pytest.fixture
def flask_log(caplog):
    """The app's own request log: one line per request that went through Flask."""
    caplog.set_level(logging.INFO, logger="fundraiser.request")
    return lambda: [r for r in caplog.records if r.name == "fundraiser.request"]


def without_request_id(response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")


@pytest.mark.parametrize("path", ["/", "/campaigns/{slug}", "/api/campaigns/{slug}/totals"])
def test_second_get_is_the_same_response_without_flask(client, campaign, sharing, flask_log, path):
    path = path.format(slug=campaign)
    first = client.get(path)
    second = client.get(path)
    assert first.status_code == second.status_code == 200
    assert second.get_data() == first.get_data()
    assert without_request_id(second) == without_request_id(first)
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert len(flask_log()) == 1  # only the first went through Flask
    assert "Set-Cookie" not in second.headers and "Cookie" not in second.headers.get("Vary", "")


def test_an_unannounced_change_waits_and_a_ledger_write_shows_at_once(
    app, client, campaign, sharing
):
    before = client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"]
    with app.app_context():
        campaign_id = add_payment(campaign, 4200, announce=False).campaign_id
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == before
    with app.app_context():
        services.ledger_changed(campaign_id)
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 4200


def test_revalidation_gets_the_same_304_as_flask_gives(client, campaign, sharing, flask_log):
    etag = client.get("/").headers["ETag"]
    from_flask = client.get("/", headers={"If-None-Match": etag})
    from_memory = client.get("/", headers={"If-None-Match": etag})
    assert from_flask.status_code == from_memory.status_code == 304
    assert from_memory.get_data() == b""
    assert without_request_id(from_memory) == without_request_id(from_flask)
    stale = client.get("/", headers={"If-None-Match": '"something-older"'})
    assert stale.status_code == 200 and stale.headers["ETag"] == etag
    assert len(flask_log()) == 2  # the first 200 and the first 304


def test_request_ids_are_taken_when_sane_and_replaced_when_not(client, campaign, sharing):
    client.get("/")
    assert client.get("/", headers={"X-Request-ID": "lb-1234"}).headers["X-Request-ID"] == (
        "lb-1234"
    )
    forged = client.get("/", headers={"X-Request-ID": "x;rid=forged id"})
    assert "forged" not in forged.headers["X-Request-ID"]
    assert len(forged.headers["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    "requests",
    [
        [("GET", "/"), ("GET", "/?utm_source=share"), ("HEAD", "/"), ("POST", "/")],
        [("GET", "/account/login")] * 2 + [("GET", "/healthz")] * 2,  # pages not shared
    ],
    ids=["query-head-post", "not-shared"],
)
def test_these_always_reach_flask(client, campaign, sharing, flask_log, requests):
    for method, path in requests:
        client.open(path, method=method)
    assert len(flask_log()) == len(requests)


def test_a_signed_in_reader_gets_the_shared_page_and_keeps_their_session(
    app, client, campaign, sharing
):
    anonymous = client.application.test_client().get("/")
    with app.app_context():
        make_supporter("reader@example.org")
        db.session.remove()
    assert login(client, "reader@example.org").status_code == 302
    page = client.get("/")
    assert page.get_data() == anonymous.get_data()
    assert "Set-Cookie" not in page.headers
    assert client.get("/account").status_code == 200  # still signed in


def test_nothing_is_kept_when_snapshots_are_off(app, client, campaign, flask_log, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SNAPSHOT_SECONDS", 0)
    client.get("/")
    client.get("/")
    assert len(flask_log()) == 2


@pytest.mark.parametrize(
    ("status", "headers", "kept"),
    [
        ("200 OK", [("ETag", '"a"')], True),
        ("304 NOT MODIFIED", [("ETag", '"a"')], True),
        ("404 NOT FOUND", [], False),
        ("200 OK", [("Set-Cookie", "session=x")], False),
        ("200 OK", [("Vary", "Accept-Encoding, Cookie")], False),
    ],
)
def test_only_cookie_free_successes_are_kept(status, headers, kept):
    # The session interface already strips cookies from shared pages; this is the last check.
    assert _shareable(status, headers) is kept
