"""database.autocommitted_row (the webhook's insert straight through the driver) fails as
SQLAlchemy would, and hands the pool back only connections fit for transactions; the limiter
skips only views exempt from every limit."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import exc, func, select, text

from fundraiser.database import autocommitted_row
from fundraiser.extensions import _exempt_from_every_limit, db
from fundraiser.models import StripeEvent, utcnow

on_postgresql = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="autocommitted_row is the PostgreSQL path (SQLite keeps SQLAlchemy's)",
)
INSERT = (
    "INSERT INTO stripe_events (id, type, stripe_created, source, received_at, payload)"
    " VALUES (%(id)s, 'x.y', 0, 'webhook', %(now)s, %(payload)s::json)"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)


def pooled_connections_in_transaction_mode() -> list[bool]:
    """Check out every idle pooled connection at once: is autocommit off on each?"""
    held = [db.engine.raw_connection() for _ in range(db.engine.pool.checkedin())]
    try:
        return [not connection.driver_connection.autocommit for connection in held]
    finally:
        for connection in held:
            connection.close()


@on_postgresql
def test_a_row_is_committed_on_its_own_and_a_repeat_returns_none(app):
    with app.app_context():
        params = {"id": "evt_alone", "now": utcnow(), "payload": '{"a": 1}'}
        assert autocommitted_row(INSERT, params) == ("evt_alone",)
        assert autocommitted_row(INSERT, params) is None
        db.session.rollback()
        assert db.session.get(StripeEvent, "evt_alone").payload == {"a": 1}
        assert all(pooled_connections_in_transaction_mode())


@on_postgresql
def test_a_failing_statement_raises_sqlalchemys_error_and_the_connection_stays_usable(app):
    with app.app_context():
        too_long = {"id": "evt_" + "9" * 300, "now": utcnow(), "payload": "null"}
        with pytest.raises(exc.DataError):
            autocommitted_row(INSERT, too_long)
        not_json = {"id": "evt_bad_json", "now": utcnow(), "payload": "{nope"}
        with pytest.raises(exc.DataError):
            autocommitted_row(INSERT, not_json)
        assert all(pooled_connections_in_transaction_mode())
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


@on_postgresql
def test_a_connection_that_dies_under_the_statement_is_an_outage_and_is_not_pooled_again(app):
    with app.app_context():
        with pytest.raises(exc.OperationalError) as raised:
            autocommitted_row("SELECT pg_terminate_backend(pg_backend_pid())", {})
        assert raised.value.connection_invalidated
        assert all(pooled_connections_in_transaction_mode())
        params = {"id": "evt_after", "now": utcnow(), "payload": "null"}
        assert autocommitted_row(INSERT, params) == ("evt_after",)
        assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_the_limiter_skips_only_views_exempt_from_every_limit(app):
    cases = {
        ("POST", "/stripe/webhook"): True,  # @limiter.exempt
        ("GET", "/metrics"): True,
        ("POST", "/account/login"): False,  # limited
        ("GET", "/no-such-page"): False,  # no view at all
    }
    for (method, path), exempt in cases.items():
        with app.test_request_context(path, method=method):
            assert _exempt_from_every_limit() is exempt, path
