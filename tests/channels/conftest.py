"""Fixtures for the other channels: the PayPal stand-in, and reading the ledger per channel."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="session")
def paypal_server(app, live_server):
    """The PayPal stand-in on loopback, delivering IPN messages to the live app."""
    from simulators.paypal import start_simulator

    handle = start_simulator(
        ipn_url=f"{live_server.url}/paypal/ipn", retry_delays=(0.2, 0.4, 0.8, 1.6, 3.2)
    )
    yield handle
    handle.stop()


@pytest.fixture
def paypal(app, paypal_server):
    """The stand-in, with the app verifying against it for this test."""
    paypal_server.sim.flush(10)
    paypal_server.sim.attempts.clear()
    before = app.config["PAYPAL_IPN_VERIFY_URL"]
    app.config["PAYPAL_IPN_VERIFY_URL"] = paypal_server.verify_url
    yield paypal_server
    paypal_server.sim.flush(10)
    app.config["PAYPAL_IPN_VERIFY_URL"] = before


def rows(channel: str | None = None) -> list[LedgerEntry]:
    db.session.rollback()  # see what other threads committed
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if channel:
        query = query.where(LedgerEntry.channel == channel)
    return list(db.session.scalars(query))


def post_ipn(client, body: bytes):
    return client.post("/paypal/ipn", data=body, content_type=FORM)


PATREON_SECRET = "test-patreon-webhook-secret"


@pytest.fixture(scope="session")
def patreon_server(app, live_server):
    """The Patreon stand-in on loopback, sending signed webhooks to the live app."""
    from simulators.patreon import start_simulator

    handle = start_simulator(
        webhook_url=f"{live_server.url}/patreon/webhook",
        secret=PATREON_SECRET,
        token="test-patreon-token",
        campaign_id="4242",
    )
    yield handle
    handle.stop()


@pytest.fixture
def patreon(app, patreon_server):
    """The stand-in, emptied, with the app configured to trust and ask it for this test."""
    sim = patreon_server.sim
    sim.members.clear()
    sim.deliveries.clear()
    sim.rate_limit_next = 0
    sim.page_size = 100
    settings = {
        "PATREON_WEBHOOK_SECRET": PATREON_SECRET,
        "PATREON_ACCESS_TOKEN": "test-patreon-token",
        "PATREON_CAMPAIGN_ID": "4242",
        "PATREON_API_BASE": patreon_server.api_base,
        "PATREON_CURRENCY": None,
    }
    before = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    yield patreon_server
    app.config.update(before)
