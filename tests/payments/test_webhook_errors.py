"""Whose fault is it? A payload that doesn't fit its event type is a 400 with the reason; an
error raised by our own code or by an object re-fetched from Stripe is a 500 kept for the
drift report (and Stripe retries)."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, StripeEvent, WebhookFailure
from fundraiser.payments.drift import drift_report
from tests.conftest import FIXTURES3
from tests.helpers import donate, pay, post_event, session_id_from, sim_control, wait_for


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def lost_events(client, campaign, sim, frequency="one-time") -> list[dict]:
    sim.sim.faults.update({"drop_webhooks": 10_000})
    pay(sim, session_id_from(donate(client, campaign, amount="25", frequency=frequency)))
    sim.sim.faults.reset()
    return sim.sim.events()


def of_type(events: list[dict], event_type: str) -> dict:
    return copy.deepcopy(next(e for e in events if e["type"] == event_type))


def _set(event: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    target = event
    for step in parents:
        target = target[step]
    if value is KeyError:
        target.pop(last, None)
    else:
        target[last] = value
    return event


@pytest.mark.parametrize(
    "event_type, path, value, reason",
    [
        ("checkout.session.completed", "data.object.metadata", ["x"], "metadata"),
        ("checkout.session.completed", "data.object.customer_details.email", 7, "email"),
        ("checkout.session.completed", "data.object.id", "", "data.object.id"),
        ("checkout.session.completed", "id", "evt_" + "9" * 300, "longer than 255"),
        ("checkout.session.completed", "created", -5, "created"),
        ("checkout.session.completed", "created", True, "created"),
        ("payment_intent.succeeded", "data.object.metadata", {"donation_intent": 1}, "metadata"),
        ("payment_intent.succeeded", "data.object.description", "a\x00b", "NUL"),
        ("payment_intent.succeeded", "data.object.amount", float("nan"), "finite"),
        ("invoice.paid", "data.object.parent", "sub_1", "data.object.parent"),
        ("invoice.paid", "data.object.parent.subscription_details.subscription", 5, "subscr"),
    ],
)
def test_a_payload_that_doesnt_fit_its_type_is_a_400_with_the_reason(
    app, client, campaign, stripe_sim, event_type, path, value, reason
):
    frequency = "monthly" if event_type.startswith("invoice") else "one-time"
    event = _set(of_type(lost_events(client, campaign, stripe_sim, frequency), event_type),
                 path, value)  # fmt: skip
    response = post_event(client, event)
    assert response.status_code == 400
    assert "doesn't fit its type" in response.get_json()["reason"]
    assert reason in response.get_json()["reason"]
    with app.app_context():
        assert count(StripeEvent) == count(LedgerEntry) == count(WebhookFailure) == 0


@pytest.mark.parametrize(
    "path, value",
    [("data.object.charge", KeyError), ("data.object.amount", "2000"),
     ("data.object.amount", 10**15)],
)  # fmt: skip
def test_a_dispute_event_without_a_charge_or_a_real_amount_is_a_400(
    app, client, campaign, stripe_sim, path, value
):
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="20")))
    with app.app_context():
        charge_id = wait_for(lambda: db.session.scalar(select(LedgerEntry.charge_id)))
    stripe_sim.sim.faults.update({"drop_webhooks": 10_000})
    sim_control(stripe_sim, f"charges/{charge_id}/dispute")
    stripe_sim.sim.faults.reset()
    event = _set(of_type(stripe_sim.sim.events(), "charge.dispute.created"), path, value)
    response = post_event(client, event)
    assert response.status_code == 400 and "data.object" in response.get_json()["reason"]
    with app.app_context():
        assert [row.kind for row in db.session.scalars(select(LedgerEntry))] == ["payment"]


def test_an_event_naming_an_object_stripe_doesnt_have_is_a_400(app, client, campaign, stripe_sim):
    resources = json.loads(FIXTURES3.read_text())["resources"]
    event = {"id": "evt_fixture_invoice", "object": "event", "type": "invoice.paid",
             "created": 1_790_000_000, "data": {"object": resources["invoice"]}}  # fmt: skip
    response = post_event(client, event)
    assert response.status_code == 400
    assert "Stripe doesn't have" in response.get_json()["reason"]
    with app.app_context():
        assert count(StripeEvent) == count(WebhookFailure) == 0


def test_stripe_refusing_our_refetch_is_a_500_kept_for_the_drift_report(
    app, client, campaign, stripe_sim
):
    """A well-formed event, but Stripe answers the re-fetch with a 4xx (here: a key for
    another account): our side is wrong, not the sender. 500, remembered, retried."""
    completed = of_type(lost_events(client, campaign, stripe_sim), "checkout.session.completed")
    good_key = app.config["STRIPE_SECRET_KEY"]
    app.config["STRIPE_SECRET_KEY"] = "sk_live_another_account"
    try:
        response = post_event(client, completed)
    finally:
        app.config["STRIPE_SECRET_KEY"] = good_key
    assert response.status_code == 500
    with app.app_context():
        assert count(StripeEvent) == count(LedgerEntry) == 0
        failure = db.session.scalar(select(WebhookFailure))
        assert failure.event_id == completed["id"] and "PaymentRefused" in failure.error
        assert [f.event_id for f in drift_report().failed_webhooks] == [completed["id"]]
    retried = post_event(client, completed)
    assert retried.status_code == 200 and retried.get_json()["handled"] is True
    with app.app_context():
        assert count(LedgerEntry) == 1


def test_queued_mode_refuses_a_bad_payload_before_storing_it(queued_app, campaign, stripe_sim):
    client = queued_app.test_client()
    queued_app.config["STRIPE_API_BASE"] = stripe_sim.url
    refund = {"id": "re_1", "object": "refund"}
    event = {"id": "evt_bad_refund", "object": "event", "type": "refund.updated",
             "created": 1_790_000_000, "data": {"object": refund}}  # fmt: skip
    response = post_event(client, event)
    assert response.status_code == 400
    assert "data.object.charge is missing" in response.get_json()["reason"]
    with queued_app.app_context():
        assert count(StripeEvent) == 0
