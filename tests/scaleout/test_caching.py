"""Totals and landing-page caching: fresh after each ledger write, no error with Redis down."""

from __future__ import annotations

import socket
import uuid

import pytest

from fundraiser.cache import LocalCache, RedisCache, get_cache, page_cache, snapshots
from fundraiser.campaigns import services
from fundraiser.extensions import db
from tests.factories import add_payment


def _redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["local", "redis"])
def cached_totals(request, app, monkeypatch):
    """Totals caching switched on (tests run with it off), in-process or in a real Redis."""
    if request.param == "redis":
        if not _redis_is_up():
            pytest.skip("no Redis on 127.0.0.1:6379")
        cache = RedisCache("redis://127.0.0.1:6379/0", prefix=f"test-{uuid.uuid4().hex}:")
    else:
        cache = LocalCache()
    monkeypatch.setitem(app.config, "TOTALS_CACHE_SECONDS", 2)
    monkeypatch.setitem(app.extensions, "fundraiser_cache", cache)
    snapshots(app).clear()  # the app outlives tests; its campaign ids do not
    yield cache
    snapshots(app).clear()
    if isinstance(cache, RedisCache):
        keys = list(cache.redis.scan_iter(cache.prefix + "*"))
        if keys:
            cache.redis.delete(*keys)


def _raised(slug: str) -> int:
    db.session.rollback()  # a fresh transaction, as a new request would have
    return services.campaign_totals(services.campaign_by_slug(slug)).raised_minor


def test_totals_are_served_from_cache_until_the_ledger_changes(ctx, campaign, cached_totals):
    assert _raised(campaign) == 0
    entry = add_payment(campaign, 2500, announce=False)  # its announcement lost...
    assert _raised(campaign) == 0  # ...so the cached figure stands (at most 2 s)
    services.ledger_changed(entry.campaign_id)
    assert _raised(campaign) == 2500


def test_cached_totals_expire_even_if_a_change_is_never_announced(
    ctx, campaign, cached_totals, monkeypatch
):
    assert _raised(campaign) == 0
    add_payment(campaign, 700, announce=False)
    clock = services.time.time() + 2.5
    monkeypatch.setattr(services.time, "time", lambda: clock)
    assert _raised(campaign) == 700


def test_webhook_payment_shows_in_totals_at_once(app, client, campaign, cached_totals):
    """The books announce their ledger writes after commit, which bumps the version."""
    with app.app_context():
        assert _raised(campaign) == 0
        add_payment(campaign, 1200)
    body = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert body["raised_minor"] == 1200


def test_totals_and_pages_work_when_redis_is_down(app, client, campaign, monkeypatch):
    down = RedisCache(f"redis://127.0.0.1:{_closed_port()}/0")
    monkeypatch.setitem(app.config, "TOTALS_CACHE_SECONDS", 2)
    monkeypatch.setitem(app.extensions, "fundraiser_cache", down)
    with app.app_context():
        add_payment(campaign, 900)
        services.ledger_changed(services.campaign_by_slug(campaign).id)  # must not raise
    assert client.get("/").status_code == 200
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 900
    with app.app_context():
        assert get_cache() is down


def test_landing_page_is_rendered_once_per_version(
    app, client, campaign, seed_path, tmp_path, monkeypatch
):
    # Snapshots (a second's copy of the finished page) would hide the new version that long.
    monkeypatch.setitem(app.config, "PAGE_SNAPSHOT_SECONDS", 0)
    first = client.get("/")
    with app.app_context():
        keys = [k for k in page_cache()._entries if k.startswith("landing:")]
    assert any(first.headers["ETag"].strip('"') in key for key in keys)
    assert client.get("/").get_data() == first.get_data()

    edited = tmp_path / "article.txt"
    text = seed_path.read_text("utf-8")
    edited.write_text(text.replace("Kazakhstan’s turmoil", "Kazakhstan’s upheaval", 1), "utf-8")
    with app.app_context():
        services.import_campaign(edited, campaign, "5000", "EUR", make_default=True)
        db.session.commit()
    second = client.get("/")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert "Kazakhstan’s upheaval" in second.get_data(as_text=True)


def test_a_new_donation_changes_the_page_and_its_etag(app, client, campaign):
    first = client.get("/")
    with app.app_context():
        add_payment(campaign, 4200)
    second = client.get("/")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert 'data-field="raised">€42<' in second.get_data(as_text=True)


def test_local_cache_is_bounded_and_expires():
    cache = LocalCache(max_entries=2)
    cache.set("a", 1, 60)
    cache.set("b", 2, 60)
    cache.set("c", 3, 60)
    assert cache.get_many(["a", "b", "c"]) == [None, 2, 3]
    cache.set("d", 4, -1)
    assert cache.get("d") is None
    assert cache.add("lock", 1, 60) and not cache.add("lock", 1, 60)
    assert cache.incr("n", 60) == 1 and cache.incr("n", 60) == 2


def test_snapshots_serve_the_page_for_a_second_and_a_ledger_write_drops_them(
    app, client, campaign, cached_totals, monkeypatch
):
    monkeypatch.setitem(app.config, "PAGE_SNAPSHOT_SECONDS", 1)
    first = client.get("/")
    totals_url = f"/api/campaigns/{campaign}/totals"
    assert client.get(totals_url).get_json()["raised_minor"] == 0
    with app.app_context():
        campaign_id = add_payment(campaign, 3100, announce=False).campaign_id
    assert client.get("/").headers["ETag"] == first.headers["ETag"]
    assert client.get(totals_url).get_json()["raised_minor"] == 0
    with app.app_context():
        services.ledger_changed(campaign_id)
    assert client.get("/").headers["ETag"] != first.headers["ETag"]
    assert client.get(totals_url).get_json()["raised_minor"] == 3100
    assert client.get("/campaigns/no-such-campaign").status_code == 404
    assert client.get("/api/campaigns/no-such-campaign/totals").status_code == 404
