"""The webhook endpoint: signatures, replays, duplicates, any order, concurrency, failures."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select, text

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, LedgerEntry, Pledge, StripeEvent
from tests.conftest import FIXTURES3
from tests.helpers import (
    donate,
    pay,
    post_event,
    session_id_from,
    sim_control,
    stripe_client,
    wait_for,
)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def ledger() -> list[tuple[str, int]]:
    db.session.rollback()
    rows = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
    return [(row.kind, row.amount_minor) for row in rows]


def paid_without_webhooks(client, campaign, sim, frequency="one-time", amount="25") -> list[dict]:
    """Pay a donation at the simulator while every delivery is lost; return its events."""
    sim.sim.faults.update({"drop_webhooks": 10_000})
    session_id = session_id_from(donate(client, campaign, amount=amount, frequency=frequency))
    pay(sim, session_id)
    sim.sim.faults.reset()
    return sim.sim.events()


def by_type(events: list[dict], event_type: str) -> dict:
    return next(event for event in events if event["type"] == event_type)


def test_bad_or_missing_signature_is_refused_and_stores_nothing(app, client, campaign, stripe_sim):
    events = paid_without_webhooks(client, campaign, stripe_sim)
    completed = by_type(events, "checkout.session.completed")
    assert post_event(client, completed, secret="whsec_wrong").status_code == 400
    unsigned = post_event(client, completed, secret="")
    assert unsigned.status_code == 400 and "Stripe-Signature" in unsigned.get_json()["reason"]
    garbage = client.post(
        "/stripe/webhook", data=b"\xff\xfe{", headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert garbage.status_code == 400
    with app.app_context():
        assert count(StripeEvent) == 0 and ledger() == []


def test_stale_timestamp_is_refused(app, client, campaign, stripe_sim):
    events = paid_without_webhooks(client, campaign, stripe_sim)
    stale = int(time.time()) - 3600
    response = post_event(client, by_type(events, "checkout.session.completed"), timestamp=stale)
    assert response.status_code == 400
    with app.app_context():
        assert count(StripeEvent) == 0


def test_replayed_webhook_counts_once(app, client, campaign, stripe_sim):
    completed = by_type(
        paid_without_webhooks(client, campaign, stripe_sim), "checkout.session.completed"
    )
    first = post_event(client, completed)
    again = post_event(client, completed)
    assert first.get_json() == {"received": True, "duplicate": False, "handled": True,
                                "queued": False}  # fmt: skip
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    with app.app_context():
        assert ledger() == [("payment", 2500)]


def test_same_payment_described_by_several_events_counts_once(app, client, campaign, stripe_sim):
    events = paid_without_webhooks(client, campaign, stripe_sim)
    for event in reversed(events):  # every event the flow emitted, newest first
        assert post_event(client, event).status_code == 200
    for event in events:
        post_event(client, event)
    with app.app_context():
        assert ledger() == [("payment", 2500)]
        assert count(StripeEvent) == len(events)


def test_invoice_paid_before_checkout_completed(app, client, campaign, stripe_sim):
    events = paid_without_webhooks(client, campaign, stripe_sim, frequency="monthly", amount="10")
    order = ["invoice.paid", "customer.subscription.created", "checkout.session.completed"]
    for event_type in order:
        assert post_event(client, by_type(events, event_type)).status_code == 200
    with app.app_context():
        assert ledger() == [("payment", 1000)]
        pledge = db.session.scalar(select(Pledge))
        assert pledge.status == "active" and pledge.intent_id is not None
        assert db.session.scalar(select(LedgerEntry.pledge_id)) == pledge.id


def test_refund_webhook_before_the_payment_webhook(app, client, campaign, stripe_sim):
    events = paid_without_webhooks(client, campaign, stripe_sim, amount="40")
    payment_intent = by_type(events, "payment_intent.succeeded")["data"]["object"]["id"]
    stripe_sim.sim.faults.update({"drop_webhooks": 10_000})
    stripe_client(stripe_sim).v1.refunds.create(
        params={"payment_intent": payment_intent, "amount": 1500}
    )
    stripe_sim.sim.faults.reset()
    refunded = stripe_sim.sim.events("charge.refunded")[-1]
    assert post_event(client, refunded).status_code == 200
    for event in events:
        post_event(client, event)
    with app.app_context():
        assert sorted(ledger()) == [("payment", 4000), ("refund", -1500)]
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["raised_minor"] == 2500


def test_partial_refunds_are_separate_movements(app, client, campaign, stripe_sim):
    session_id = session_id_from(donate(client, campaign, amount="30"))
    pay(stripe_sim, session_id)
    with app.app_context():
        payment_intent = wait_for(lambda: db.session.scalar(select(LedgerEntry.payment_ref)))
    for amount in (1000, 500):
        stripe_client(stripe_sim).v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": amount}
        )
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: len(ledger()) == 3)
        assert sorted(ledger()) == [("payment", 3000), ("refund", -1000), ("refund", -500)]


@pytest.mark.parametrize("outcome, raised", [("won", 2000), ("lost", 0)])
def test_dispute_withdraws_then_restores_or_keeps_funds(
    app, client, campaign, stripe_sim, outcome, raised
):
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="20")))
    with app.app_context():
        charge_id = wait_for(lambda: db.session.scalar(select(LedgerEntry.charge_id)))
    dispute = sim_control(stripe_sim, f"charges/{charge_id}/dispute")
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: ("dispute_opened", -2000) in ledger())
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == 0
    sim_control(stripe_sim, f"disputes/{dispute['id']}/close", status=outcome)
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: len(ledger()) == 3)
    assert client.get(f"/api/campaigns/{campaign}/totals").get_json()["raised_minor"] == raised


def test_unknown_event_types_are_acknowledged_and_ignored(app, client, campaign):
    shapes = json.loads(FIXTURES3.read_text())["resources"] if FIXTURES3.exists() else {}
    event = dict(shapes.get("event") or {"object": "event", "data": {"object": {}}})
    event.update(id="evt_unknown_1", type="customer.tax_id.created", created=int(time.time()))
    event["data"] = {"object": shapes.get("tax_id") or {"id": "txi_1", "object": "tax_id"}}
    response = post_event(client, event)
    assert response.status_code == 200 and response.get_json()["handled"] is False
    with app.app_context():
        assert count(LedgerEntry) == 0 and count(StripeEvent) == 1


def test_monthly_renewals_add_one_payment_each_and_failures_mark_past_due(
    app, client, campaign, stripe_sim
):
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="10", frequency="monthly")))
    with app.app_context():
        subscription_id = wait_for(lambda: db.session.scalar(select(Pledge.stripe_subscription_id)))
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: len(ledger()) == 2)
        assert ledger() == [("payment", 1000), ("payment", 1000)]
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="failed")
    stripe_sim.flush()
    with app.app_context():
        pledge = wait_for(
            lambda: db.session.scalar(select(Pledge).where(Pledge.status == "past_due"))
        )
        assert pledge.stripe_subscription_id == subscription_id
        assert len(ledger()) == 2


def test_a_late_old_subscription_event_cannot_revive_a_cancelled_pledge(
    app, client, campaign, stripe_sim
):
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="10", frequency="monthly")))
    stripe_sim.flush()
    old_update = stripe_sim.sim.events("customer.subscription.created")[-1]
    with app.app_context():
        subscription_id = wait_for(lambda: db.session.scalar(select(Pledge.stripe_subscription_id)))
    stripe_client(stripe_sim).v1.subscriptions.cancel(subscription_id)
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: db.session.scalar(select(Pledge.status)) == "cancelled")
    late = dict(old_update, id="evt_late_copy")  # an old snapshot showing it active
    assert post_event(client, late).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Pledge.status)) == "cancelled"


def test_concurrent_duplicate_deliveries_count_once(app, client, campaign, stripe_sim, live_server):
    import urllib.request

    import stripe

    from tests.conftest import WEBHOOK_SECRET

    events = paid_without_webhooks(client, campaign, stripe_sim, amount="60")
    payload = json.dumps(by_type(events, "checkout.session.completed")).encode()
    results: list[dict] = []
    barrier = threading.Barrier(6)

    def deliver():
        signature = stripe.WebhookSignature.generate_signature_header(
            payload.decode(), WEBHOOK_SECRET
        )
        request = urllib.request.Request(
            f"{live_server.url}/stripe/webhook",
            data=payload,
            headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        )
        barrier.wait()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            results.append(json.loads(response.read()))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert sum(1 for r in results if r["duplicate"] is False) == 1
    with app.app_context():
        assert ledger() == [("payment", 6000)]


def test_handler_failure_returns_500_and_leaves_nothing_half_written(
    app, client, campaign, stripe_sim
):
    completed = by_type(
        paid_without_webhooks(client, campaign, stripe_sim), "checkout.session.completed"
    )
    with app.app_context():
        # A real fault mid-handler: the ledger insert succeeds, the audit insert then fails.
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
        try:
            response = post_event(client, completed)
        finally:
            db.session.rollback()
            with db.engine.begin() as connection:
                connection.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))
    assert response.status_code == 500
    with app.app_context():
        assert count(StripeEvent) == 0 and ledger() == []
    retried = post_event(client, completed)
    assert retried.status_code == 200
    with app.app_context():
        assert ledger() == [("payment", 2500)]
        assert count(AuditEntry) >= 1
