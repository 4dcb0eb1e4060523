"""Stripe, exactly: only money Stripe moved is booked; failures and versions are explicit."""

from __future__ import annotations

import json

import stripe
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, ReconcileRun
from fundraiser.payments import gateway
from tests.helpers import donate, pay, session_id_from, sim_control, stripe_client, wait_for


def ledger() -> list[tuple[str, int]]:
    db.session.rollback()
    rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
    return [(row.kind, row.amount_minor) for row in rows]


def _paid(app, client, campaign, stripe_sim, amount="20") -> LedgerEntry:
    pay(stripe_sim, session_id_from(donate(client, campaign, amount=amount)))
    with app.app_context():
        entry = wait_for(lambda: db.session.scalar(select(LedgerEntry)))
        db.session.expunge(entry)
        return entry


def test_a_dispute_inquiry_books_nothing_open_or_closed(app, client, campaign, stripe_sim):
    entry = _paid(app, client, campaign, stripe_sim)
    inquiry = sim_control(stripe_sim, f"charges/{entry.charge_id}/dispute", inquiry=True)
    assert inquiry["status"] == "warning_needs_response"
    stripe_sim.flush()
    closed = sim_control(stripe_sim, f"disputes/{inquiry['id']}/close", status="won")
    assert closed["status"] == "warning_closed"
    stripe_sim.flush()
    with app.app_context():
        assert ledger() == [("payment", 2000)]
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 2000


def test_a_prevented_dispute_books_nothing(app, client, campaign, stripe_sim):
    entry = _paid(app, client, campaign, stripe_sim, amount="15")
    prevented = sim_control(stripe_sim, f"charges/{entry.charge_id}/dispute", prevented=True)
    assert prevented["status"] == "prevented"
    stripe_sim.flush()
    assert [e["type"] for e in stripe_sim.sim.events() if e["type"].startswith("charge.dis")] == [
        "charge.dispute.created",
        "charge.dispute.closed",
    ]
    with app.app_context():
        assert ledger() == [("payment", 1500)]
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 1500


def test_a_refund_that_fails_is_reversed(app, client, campaign, stripe_sim, runner):
    entry = _paid(app, client, campaign, stripe_sim, amount="30")
    refund = stripe_client(stripe_sim).v1.refunds.create(
        params={"payment_intent": entry.payment_ref, "amount": 1200}
    )
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: ("refund", -1200) in ledger())
    failed = sim_control(stripe_sim, f"refunds/{refund.id}/fail")
    assert failed["status"] == "failed" and failed["failure_balance_transaction"]
    stripe_sim.flush()
    with app.app_context():
        assert sorted(ledger()) == [("payment", 3000), ("refund", -1200), ("refund", 1200)]
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 3000
    # Reconcile agrees: the charge's amount_refunded is back to 0, so nothing to repair.
    assert runner.invoke(args=["stripe", "reconcile"]).exit_code == 0
    with app.app_context():
        assert len(ledger()) == 3


def test_the_simulator_fills_the_refunds_balance_transaction(app, client, campaign, stripe_sim):
    entry = _paid(app, client, campaign, stripe_sim)
    refund = stripe_client(stripe_sim).v1.refunds.create(
        params={"payment_intent": entry.payment_ref, "amount": 500}
    )
    assert refund.balance_transaction and refund.balance_transaction.startswith("txn_")


def test_calls_are_made_with_the_pinned_api_version(app):
    assert stripe.api_version == gateway.API_VERSION  # the installed major was made for it
    with app.app_context():
        assert gateway._client()._requestor._options.stripe_version == gateway.API_VERSION


def test_a_stripe_refusal_during_reconcile_fails_the_run_with_stripes_reason(
    app, runner, campaign, stripe_sim, monkeypatch
):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_live_not_this_account")
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 1
    with app.app_context():
        run = db.session.scalar(select(ReconcileRun))
        assert run.status == "failed" and run.finished_at is not None
        assert any("Stripe refused" in problem for problem in json.loads(run.detail))
