"""Renewals are booked from one Stripe call; the fee follows (inline, in a job, by reconcile)."""

from __future__ import annotations

import uuid

import pytest
import stripe
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

from fundraiser import create_app
from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, LedgerTotal, Pledge
from fundraiser.payments import rollups
from tests.helpers import donate, pay, post_event, session_id_from, sim_control, stripe_client
from tests.helpers import wait_for as wait_until

REDIS = "redis://127.0.0.1:6379/0"


def renewal_rows() -> list[LedgerEntry]:
    db.session.rollback()
    query = select(LedgerEntry).where(LedgerEntry.invoice_id.is_not(None)).order_by(LedgerEntry.id)
    return list(db.session.scalars(query))


def stripe_fee(sim, charge_id: str) -> int:
    charge = stripe_client(sim).v1.charges.retrieve(
        charge_id, params={"expand": ["balance_transaction"]}
    )
    return charge.balance_transaction.fee


def start_pledge(app, client, campaign, sim) -> str:
    response = donate(
        client, campaign, amount="10", frequency="monthly", email="patron@example.org"
    )
    pay(sim, session_id_from(response))
    with app.app_context():
        return wait_until(lambda: db.session.scalar(select(Pledge.stripe_subscription_id)))


def test_a_renewal_gets_stripes_fee_once_it_is_booked(app, client, campaign, stripe_sim):
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    with app.app_context():
        rows = wait_until(lambda: len(renewal_rows()) == 2 and renewal_rows())
        for row in rows:
            assert row.fee_minor == stripe_fee(stripe_sim, row.charge_id) > 0
            assert row.donor_email == "patron@example.org"
        assert not any(rollups.differing_rows(rollups.snapshot(), _rebuilt()).values())


def _rebuilt():
    """The roll-ups recomputed from the ledger (then put back as they were)."""
    before = rollups.snapshot()
    rollups.rebuild()
    after = rollups.snapshot()
    db.session.rollback()
    assert rollups.snapshot() == before
    return after


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


def test_with_redis_the_fee_is_looked_up_by_the_worker(
    app, client, queued_app, campaign, stripe_sim
):
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})  # we post the renewal ourselves
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    event = stripe_sim.sim.events("invoice.paid")[-1]
    queued_app.config["STRIPE_API_BASE"] = stripe_sim.url
    response = post_event(queued_app.test_client(), event)
    assert response.status_code == 200 and response.get_json()["handled"] is True
    with queued_app.app_context():
        renewal = renewal_rows()[-1]
        assert renewal.invoice_id == event["data"]["object"]["id"]
        assert renewal.fee_minor is None  # the request only queued the lookup
        fees_before = db.session.scalar(select(LedgerTotal.fee_minor))
    result = queued_app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    with queued_app.app_context():
        renewal = renewal_rows()[-1]
        assert renewal.fee_minor == stripe_fee(stripe_sim, renewal.charge_id) > 0
        fees_after = db.session.scalar(select(LedgerTotal.fee_minor))
        assert fees_after == fees_before + renewal.fee_minor
        assert not any(rollups.differing_rows(rollups.snapshot(), _rebuilt()).values())


def test_reconcile_fills_a_fee_whose_lookup_was_lost(app, client, runner, campaign, stripe_sim):
    start_pledge(app, client, campaign, stripe_sim)
    with app.app_context():
        [row] = wait_until(renewal_rows)
        fee = row.fee_minor
        db.session.execute(update(LedgerEntry).values(fee_minor=None))
        rollups.rebuild()
        db.session.commit()
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        [row] = renewal_rows()
        assert row.fee_minor == fee > 0
        assert db.session.scalar(select(LedgerTotal.fee_minor)) == fee
    again = runner.invoke(args=["stripe", "reconcile"])
    assert "fixed: 0" in again.output


def test_stripe_expands_at_most_four_levels_and_so_does_the_simulator(stripe_sim):
    client = stripe_client(stripe_sim)
    with pytest.raises(stripe.InvalidRequestError, match="more than 4 levels"):
        client.v1.invoices.list(params={"expand": ["data.payments.data.payment.payment_intent"]})
    assert client.v1.invoices.list(params={"expand": ["data.payments.data.payment"]}).data == []
