"""Renewals are booked from one Stripe call; the fee follows (inline, in a job, by reconcile)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import stripe
from sqlalchemy import select, update

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, LedgerTotal
from fundraiser.payments import ledger_writes, rollups
from tests.helpers import post_event, sim_control, stripe_client
from tests.helpers import wait_for as wait_until
from tests.payments.conftest import renewal_rows, start_pledge


def stripe_fee(sim, charge_id: str) -> int:
    """Stripe's fee, in the account's settlement currency."""
    charge = stripe_client(sim).v1.charges.retrieve(
        charge_id, params={"expand": ["balance_transaction"]}
    )
    return charge.balance_transaction.fee


def assert_stripes_fee(sim, row: LedgerEntry) -> None:
    """The row holds Stripe's fee as settled, and in the gift's currency at Stripe's rate."""
    assert row.settled_fee_minor == stripe_fee(sim, row.charge_id) > 0
    expected = Decimal(row.settled_fee_minor) / (row.exchange_rate or 1)
    assert row.fee_minor == int(expected.quantize(Decimal(1), ROUND_HALF_EVEN))


def test_a_renewal_gets_stripes_fee_once_it_is_booked(app, client, campaign, stripe_sim):
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    with app.app_context():
        rows = wait_until(lambda: len(renewal_rows()) == 2 and renewal_rows())
        for row in rows:
            assert_stripes_fee(stripe_sim, row)
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


def test_with_redis_the_worker_books_the_renewal_and_then_its_fee(
    app, client, queued_app, campaign, stripe_sim
):
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})  # we post the renewal ourselves
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    event = stripe_sim.sim.events("invoice.paid")[-1]
    queued_app.config["STRIPE_API_BASE"] = stripe_sim.url
    response = post_event(queued_app.test_client(), event)
    assert response.get_json() == {
        "received": True,
        "duplicate": False,
        "handled": False,
        "queued": True,
    }
    with queued_app.app_context():
        assert len(renewal_rows()) == 1  # only the first payment: the request queued the event
        fees_before = db.session.scalar(select(LedgerTotal.fee_minor))
    # The event's job books the payment and queues the fee lookup and the receipt; a burst
    # worker runs until the queue is empty.
    result = queued_app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    with queued_app.app_context():
        renewal = renewal_rows()[-1]
        assert renewal.invoice_id == event["data"]["object"]["id"]
        assert_stripes_fee(stripe_sim, renewal)
        fees_after = db.session.scalar(select(LedgerTotal.fee_minor))
        assert fees_after == fees_before + renewal.fee_minor
        assert not any(rollups.differing_rows(rollups.snapshot(), _rebuilt()).values())


def test_reconcile_fills_a_fee_whose_lookup_was_lost(app, client, runner, campaign, stripe_sim):
    start_pledge(app, client, campaign, stripe_sim)
    with app.app_context():
        [row] = wait_until(renewal_rows)
        fee = row.fee_minor
        db.session.execute(update(LedgerEntry).values(ledger_writes.UNSETTLED))
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
