"""Payments tests' shared pieces: an app that queues follow-ups in Redis, a pledge to renew."""

from __future__ import annotations

import uuid

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from fundraiser import create_app
from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Pledge
from tests.helpers import donate, pay, session_id_from
from tests.helpers import wait_for as wait_until

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def queued_app(app_config, tmp_path):
    """The app as a production host runs it: with Redis, follow-ups go to an RQ queue."""
    name = f"test-fees-{uuid.uuid4().hex[:8]}"
    app = create_app(
        {**app_config, "REDIS_URL": REDIS, "RQ_QUEUE": name, "MAIL_OUTBOX": str(tmp_path)}
    )
    yield app
    queue = Queue(name, connection=Redis.from_url(REDIS))
    queue.empty()
    queue.delete(delete_jobs=True)


def renewal_rows() -> list[LedgerEntry]:
    db.session.rollback()
    query = select(LedgerEntry).where(LedgerEntry.invoice_id.is_not(None)).order_by(LedgerEntry.id)
    return list(db.session.scalars(query))


def start_pledge(app, client, campaign, sim) -> str:
    response = donate(
        client, campaign, amount="10", frequency="monthly", email="patron@example.org"
    )
    pay(sim, session_id_from(response))
    with app.app_context():
        return wait_until(lambda: db.session.scalar(select(Pledge.stripe_subscription_id)))
