"""With Redis the webhook records each event and a worker applies it; nothing lost or doubled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, update

from fundraiser.extensions import db
from fundraiser.jobs import OurJob
from fundraiser.models import LedgerEntry, StripeEvent, WebhookFailure, utcnow
from fundraiser.payments import events
from fundraiser.payments.drift import drift_report
from tests.helpers import post_event, sim_control
from tests.payments.conftest import REDIS, renewal_rows, start_pledge


@pytest.fixture
def renewal_event(app, client, campaign, stripe_sim, queued_app):
    """A paid renewal's invoice.paid that nobody has delivered to us yet."""
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    queued_app.config["STRIPE_API_BASE"] = stripe_sim.url
    return stripe_sim.sim.events("invoice.paid")[-1]


def queue_of(app) -> Queue:
    return Queue(app.config["RQ_QUEUE"], connection=Redis.from_url(REDIS),
                 serializer=JSONSerializer, job_class=OurJob)  # fmt: skip


def work(app) -> None:
    result = app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output


def stored(event_id: str) -> StripeEvent:
    db.session.rollback()
    return db.session.get(StripeEvent, event_id)


def renewals_of(invoice_id: str) -> int:
    db.session.rollback()
    query = select(func.count()).where(LedgerEntry.invoice_id == invoice_id)
    return db.session.scalar(query)


def test_the_event_is_kept_then_applied_once_by_the_worker(queued_app, renewal_event):
    invoice_id = renewal_event["data"]["object"]["id"]
    webhook = queued_app.test_client()
    first = post_event(webhook, renewal_event)
    again = post_event(webhook, renewal_event)
    assert first.get_json()["queued"] is True
    assert again.get_json() == {"received": True, "duplicate": True, "handled": False,
                                "queued": False}  # fmt: skip
    assert len(queue_of(queued_app).get_job_ids()) == 1
    with queued_app.app_context():
        row = stored(renewal_event["id"])
        assert row.applied_at is None and row.payload["id"] == renewal_event["id"]
        assert renewals_of(invoice_id) == 0
        assert drift_report().pending_events == 1
    work(queued_app)
    with queued_app.app_context():
        row = stored(renewal_event["id"])
        assert row.applied_at is not None and row.payload is None
        assert renewals_of(invoice_id) == 1
        assert drift_report().pending_events == 0
    post_event(webhook, renewal_event)
    work(queued_app)
    with queued_app.app_context():
        assert renewals_of(invoice_id) == 1


def test_when_redis_refuses_the_job_the_event_is_applied_in_the_request(queued_app, renewal_event):
    queued_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = post_event(queued_app.test_client(), renewal_event)
    assert response.get_json()["handled"] is True and response.get_json()["queued"] is False
    with queued_app.app_context():
        assert stored(renewal_event["id"]).applied_at is not None
        assert renewals_of(renewal_event["data"]["object"]["id"]) == 1


def test_inline_can_be_chosen_with_redis_configured(queued_app, renewal_event):
    queued_app.config["WEBHOOK_APPLY"] = "inline"
    response = post_event(queued_app.test_client(), renewal_event)
    assert response.get_json()["handled"] is True
    with queued_app.app_context():
        [renewal] = [
            r for r in renewal_rows() if r.invoice_id == renewal_event["data"]["object"]["id"]
        ]
        assert renewal.fee_minor is None  # looked up after the answer, by a worker
    jobs = [queue_of(queued_app).fetch_job(i) for i in queue_of(queued_app).get_job_ids()]
    assert sorted(job.args[0].rsplit(":", 1)[1] for job in jobs) == [
        "fill_fee_later",
        "send_receipt",
    ]
    work(queued_app)
    with queued_app.app_context():
        [renewal] = [
            r for r in renewal_rows() if r.invoice_id == renewal_event["data"]["object"]["id"]
        ]
        assert renewal.fee_minor is not None and renewal.fee_minor > 0


def test_reconcile_applies_an_event_whose_job_was_lost(queued_app, renewal_event):
    post_event(queued_app.test_client(), renewal_event)
    queue_of(queued_app).empty()  # Redis restarted without its data
    runner = queued_app.test_cli_runner()
    with queued_app.app_context():
        runner.invoke(args=["stripe", "reconcile"])
        assert stored(renewal_event["id"]).applied_at is None  # a worker may still be on it
        db.session.execute(update(StripeEvent).values(received_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()
    result = runner.invoke(args=["stripe", "reconcile"])
    assert result.exit_code == 0, result.output
    with queued_app.app_context():
        assert stored(renewal_event["id"]).applied_at is not None
        assert renewals_of(renewal_event["data"]["object"]["id"]) == 1


def test_a_worker_failure_is_recorded_and_the_event_waits_for_a_retry(
    queued_app, renewal_event, stripe_sim
):
    post_event(queued_app.test_client(), renewal_event)
    stripe_sim.sim.faults.update({"down": True})
    try:
        work(queued_app)
    finally:
        stripe_sim.sim.faults.update({"down": False})
    with queued_app.app_context():
        assert stored(renewal_event["id"]).applied_at is None
        failure = db.session.scalar(select(WebhookFailure))
        assert failure.event_id == renewal_event["id"] and failure.event_type == "invoice.paid"
        assert renewals_of(renewal_event["data"]["object"]["id"]) == 0
    [job_id] = queue_of(queued_app).scheduled_job_registry.get_job_ids()  # RQ retries it
    queue_of(queued_app).enqueue_job(queue_of(queued_app).fetch_job(job_id))  # due now
    work(queued_app)
    with queued_app.app_context():
        assert stored(renewal_event["id"]).applied_at is not None
        assert renewals_of(renewal_event["data"]["object"]["id"]) == 1


def test_one_drain_applies_a_burst_and_ignored_types_need_no_worker(
    queued_app, renewal_event, stripe_sim
):
    # The advance moved the simulator's clock a month on: the renewal's events are the newest.
    renewal = [e for e in stripe_sim.sim.events() if e["created"] >= renewal_event["created"] - 60]
    webhook = queued_app.test_client()
    answers = {event["type"]: post_event(webhook, event).get_json() for event in renewal}
    assert answers["invoice.paid"]["queued"] is True
    assert answers["payment_intent.succeeded"]["queued"] is False  # nothing of ours to apply
    ignored = [t for t in answers if t not in events.HANDLERS]
    assert ignored and all(answers[t]["queued"] is False for t in ignored)
    assert len(queue_of(queued_app).get_job_ids()) == 1  # one drain for the whole burst
    with queued_app.app_context():
        waiting = drift_report().pending_events
        assert waiting == sum(1 for e in renewal if events.needs_applying(e)) == 2
    work(queued_app)
    with queued_app.app_context():
        assert drift_report().pending_events == 0
        assert renewals_of(renewal_event["data"]["object"]["id"]) == 1


def test_events_with_nothing_to_apply_are_recorded_applied_and_wake_nobody(
    queued_app, renewal_event, stripe_sim
):
    """A renewal's payment_intent.succeeded (no donation intent of ours in its metadata) and a
    type we don't handle are kept as applied at once; a checkout's payment intent still waits."""
    renewal_payment = stripe_sim.sim.events("payment_intent.succeeded")[-1]
    assert not renewal_payment["data"]["object"]["metadata"].get("donation_intent")
    unhandled = stripe_sim.sim.events("invoice.finalized")[-1]
    ours = {**renewal_payment, "id": "evt_ours_1"}
    ours["data"] = {"object": {**renewal_payment["data"]["object"],
                               "metadata": {"donation_intent": "di_unknown"}}}  # fmt: skip
    webhook = queued_app.test_client()
    answers = [post_event(webhook, e).get_json() for e in (renewal_payment, unhandled, ours)]
    assert answers[0] == {"received": True, "duplicate": False, "handled": True, "queued": False}
    assert answers[1] == {"received": True, "duplicate": False, "handled": False, "queued": False}
    assert answers[2]["queued"] is True
    assert len(queue_of(queued_app).get_job_ids()) == 1  # woken by the third alone
    with queued_app.app_context():
        for event in (renewal_payment, unhandled):
            row = stored(event["id"])
            assert row.applied_at is not None and row.payload is None
        assert stored("evt_ours_1").applied_at is None
    assert post_event(webhook, renewal_payment).get_json()["duplicate"] is True
