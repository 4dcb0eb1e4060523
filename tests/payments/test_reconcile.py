"""Reconcile: lost webhooks and expired events are repaired from Stripe; a rerun changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Pledge, ReconcileRun, WebhookFailure
from fundraiser.payments.drift import drift_report
from tests.helpers import donate, pay, session_id_from, stripe_client


def ledger() -> list[tuple[str, int]]:
    db.session.rollback()
    return sorted((r.kind, r.amount_minor) for r in db.session.scalars(select(LedgerEntry)))


def lose_a_day_of_webhooks(client, campaign, sim) -> None:
    """A one-off gift, a monthly pledge and a partial refund, while every delivery is lost."""
    sim.sim.faults.update({"drop_webhooks": 100_000})
    pay(sim, session_id_from(donate(client, campaign, amount="25")))
    pay(sim, session_id_from(donate(client, campaign, amount="10", frequency="monthly")))
    one_off = next(
        e["data"]["object"]["id"]
        for e in sim.sim.events("payment_intent.succeeded")
        if e["data"]["object"]["metadata"].get("donation_intent")
    )
    stripe_client(sim).v1.refunds.create(params={"payment_intent": one_off, "amount": 500})
    sim.flush()


def test_reconcile_applies_what_lost_webhooks_missed_and_a_rerun_changes_nothing(
    app, client, runner, campaign, stripe_sim
):
    lose_a_day_of_webhooks(client, campaign, stripe_sim)
    with app.app_context():
        assert ledger() == []
        report = drift_report()
        assert len(report.missing_in_ledger) == 2 and not report.clean
    first = runner.invoke(args=["stripe", "reconcile"])
    assert first.exit_code == 0, first.output
    assert "Failures: 0" in first.output
    with app.app_context():
        assert ledger() == [("payment", 1000), ("payment", 2500), ("refund", -500)]
        assert db.session.scalar(select(Pledge.status)) == "active"
        assert drift_report().clean
    second = runner.invoke(args=["stripe", "reconcile"])
    assert "applied (were missing): 0" in second.output and "fixed: 0" in second.output
    with app.app_context():
        assert ledger() == [("payment", 1000), ("payment", 2500), ("refund", -500)]
        runs = list(db.session.scalars(select(ReconcileRun.status)))
        assert runs == ["ok", "ok"]


def test_reconcile_repairs_from_objects_when_the_events_have_expired(
    app, client, runner, campaign, stripe_sim
):
    lose_a_day_of_webhooks(client, campaign, stripe_sim)
    with stripe_sim.sim.lock:  # Stripe keeps events for 30 days; here they are gone
        stripe_sim.sim.store.events.clear()
        stripe_sim.sim.store.event_positions.clear()
    result = runner.invoke(args=["stripe", "reconcile", "--since", "2020-01-01"])
    assert result.exit_code == 0, result.output
    assert "Events seen: 0" in result.output
    with app.app_context():
        assert ledger() == [("payment", 1000), ("payment", 2500), ("refund", -500)]


def test_reconcile_reports_stripe_being_down_and_fails_loudly(app, runner, campaign, stripe_sim):
    stripe_sim.sim.faults.update({"down": True})
    result = runner.invoke(args=["stripe", "reconcile"])
    stripe_sim.sim.faults.reset()
    assert result.exit_code == 1
    with app.app_context():
        assert db.session.scalar(select(ReconcileRun.status)) == "failed"


def test_failed_deliveries_show_in_the_drift_report(app, client, campaign, stripe_sim):
    from sqlalchemy import text

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    try:
        pay(stripe_sim, session_id_from(donate(client, campaign, amount="25")))
    finally:
        with app.app_context():
            db.session.rollback()
            with db.engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))
    with app.app_context():
        failures = drift_report().failed_webhooks
        assert failures and {f.event_type for f in failures} >= {"checkout.session.completed"}
        assert db.session.scalar(select(WebhookFailure.id)) is not None
