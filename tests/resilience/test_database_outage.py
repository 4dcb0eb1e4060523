"""PostgreSQL going away under load: 503s with no stack trace, recovery without a restart,
and the webhooks refused meanwhile land exactly once when Stripe retries them."""

from __future__ import annotations

import os
import re
import threading
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry
from tests.helpers import sim_control, wait_for
from tests.resilience.tcp_proxy import OutageProxy

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the outage is of PostgreSQL; runs in CI's PostgreSQL pass",
)


@pytest.fixture
def proxy():
    target = urlsplit(os.environ["TEST_DATABASE_URL"])
    outage = OutageProxy(target.hostname or "127.0.0.1", target.port or 5432)
    yield outage
    outage.stop()


def proxied_url(proxy: OutageProxy) -> str:
    target = urlsplit(os.environ["TEST_DATABASE_URL"])
    return f"postgresql+psycopg://{target.username}@127.0.0.1:{proxy.port}{target.path}?connect_timeout=2"


def test_database_restart_gives_503s_then_recovers_and_counts_webhooks_once(
    app, campaign, make_stack, proxy
):
    # No page snapshots (a second's copy served from memory): the test asks the database.
    stack = make_stack(SQLALCHEMY_DATABASE_URI=proxied_url(proxy), PAGE_SNAPSHOT_SECONDS=0)
    assert stack.get("/")[0] == 200

    status, headers, _ = stack.post_form(
        "/donate", {"campaign": campaign, "amount": "25", "currency": "EUR"}
    )
    assert status == 303
    session_id = re.search(r"(cs_[A-Za-z0-9_]+)", headers["Location"]).group(1)

    load_results: list[int] = []
    stop = threading.Event()

    def reader_load():
        while not stop.is_set():
            load_results.append(stack.get(f"/api/campaigns/{campaign}/totals")[0])
            time.sleep(0.02)

    loader = threading.Thread(target=reader_load)
    loader.start()
    try:
        proxy.cut()
        time.sleep(0.3)
        down_status, down_body = stack.get("/")
        health_status, _ = stack.get("/healthz")
        # The reader pays while we are down: Stripe's deliveries are refused and retried.
        assert sim_control(stack.stripe, f"checkout/{session_id}/complete")["redirect_url"]
        time.sleep(1.0)
        proxy.restore()
        stack.stripe.flush(timeout=30)
        time.sleep(0.3)
    finally:
        stop.set()
        loader.join()

    assert down_status == 503 and health_status == 503
    assert "Traceback" not in down_body and "psycopg" not in down_body
    assert "We're briefly unavailable" in down_body.replace("&#39;", "'")
    assert set(load_results) <= {200, 503} and 503 in load_results and load_results[-1] == 200
    refused = [d for d in stack.stripe.sim.deliveries() if d["status"] != 200]
    assert refused, "no delivery was refused during the outage"

    assert stack.get("/")[0] == 200
    with app.app_context():
        rows = wait_for(lambda: list(db.session.scalars(select(LedgerEntry))))
        assert [(r.kind, r.amount_minor) for r in rows] == [("payment", 2500)]
    assert stack.json(f"/api/campaigns/{campaign}/totals")["raised_minor"] == 2500
