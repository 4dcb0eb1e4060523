"""Webhook delivery: signatures, retries, faults (drop, fail, duplicate, shuffle), redelivery."""

from __future__ import annotations

import json

import pytest
import stripe

from simulators.stripe import sign, start_simulator

from .helpers import FAST_RETRIES, SECRET, complete, control, payment_session


def test_signature_is_stripes_scheme() -> None:
    payload = b'{"id": "evt_1", "object": "event"}'
    header = sign(payload, SECRET)
    event = stripe.Webhook.construct_event(payload, header, SECRET)
    assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")


def test_events_carry_request_and_api_version(simulator, stripe_client, receiver) -> None:
    session = payment_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id, options={"idempotency_key": "exp-1"})
    assert simulator.flush()
    event = receiver.events[0]
    assert event["request"]["idempotency_key"] == "exp-1"
    assert event["request"]["id"].startswith("req_")
    assert event["api_version"] == stripe.api_version
    assert event["pending_webhooks"] == 1 and event["livemode"] is False


def test_retries_after_a_500(simulator, stripe_client, receiver) -> None:
    receiver.fail_next = 1
    session = stripe_client.v1.checkout.sessions.expire(payment_session(stripe_client).id)
    assert simulator.flush()
    assert receiver.types() == ["checkout.session.expired"]
    attempts = [(d["attempt"], d["status"], d["outcome"]) for d in simulator.sim.deliveries()]
    assert attempts == [(1, 500, "retrying"), (2, 200, "delivered")]
    assert receiver.events[0]["data"]["object"]["id"] == session.id


def test_gives_up_after_the_retry_schedule(receiver) -> None:
    handle = start_simulator(
        webhook_url="http://127.0.0.1:9/nothing-listens", retry_delays=FAST_RETRIES
    )
    try:
        client = stripe.StripeClient(api_key="sk_test_x", base_addresses={"api": handle.url})
        client.v1.customers.create(params={"email": "x@example.com"})
        assert handle.flush()
        log = handle.sim.deliveries()
        assert [d["outcome"] for d in log] == ["retrying"] * 3 + ["failed"]
        assert all(d["error"] for d in log)
    finally:
        handle.stop()


def test_fail_fault_is_retried_and_drop_fault_is_lost(simulator, stripe_client, receiver):
    control(simulator, "/_sim/faults", fail_webhooks=1)
    stripe_client.v1.customers.create(params={"email": "a@example.com"})
    assert simulator.flush()
    assert receiver.types() == ["customer.created"]
    control(simulator, "/_sim/faults", drop_webhooks=1)
    stripe_client.v1.customers.create(params={"email": "b@example.com"})
    stripe_client.v1.customers.create(params={"email": "c@example.com"})
    status, drained = control(simulator, "/_sim/flush", timeout=5)
    assert drained["drained"] and drained["counts"]["lost"] == 1
    assert len(receiver.events) == 2
    status, log = control(simulator, "/_sim/deliveries", method="GET")
    assert [d["outcome"] for d in log["data"]].count("lost") == 1


def test_duplicate_and_shuffle_faults(simulator, stripe_client, receiver) -> None:
    control(simulator, "/_sim/faults", duplicate_webhooks=True, shuffle_webhooks=True)
    complete(simulator, payment_session(stripe_client).id)
    assert simulator.flush()
    types = receiver.types()
    assert len(types) == 10 and len({e["id"] for e in receiver.events}) == 5
    status, faults = control(simulator, "/_sim/faults", method="GET")
    assert faults["duplicate_webhooks"] is True
    control(simulator, "/_sim/faults", method="DELETE")
    status, faults = control(simulator, "/_sim/faults", method="GET")
    assert faults["duplicate_webhooks"] is False


def test_redeliver_and_reconfigure(simulator, stripe_client, receiver) -> None:
    control(simulator, "/_sim/webhooks", url="")
    customer = stripe_client.v1.customers.create(params={"email": "a@example.com"})
    assert simulator.flush() and receiver.events == []
    event_id = simulator.sim.events()[0]["id"]
    status, _ = control(simulator, f"/_sim/events/{event_id}/redeliver")
    assert status == 409  # nowhere to deliver
    control(simulator, "/_sim/webhooks", url=receiver.url, secret="whsec_rotated")
    receiver.secret = "whsec_rotated"
    control(simulator, f"/_sim/events/{event_id}/redeliver")
    assert simulator.flush()
    assert receiver.events[0]["data"]["object"]["id"] == customer.id
    assert receiver.rejected == []


def test_reset_clears_everything(simulator, stripe_client) -> None:
    stripe_client.v1.customers.create(params={"email": "a@example.com"})
    status, body = control(simulator, "/_sim/reset")
    assert status == 200 and simulator.sim.events() == []
    assert stripe_client.v1.customers.list().data == []


def test_controls_are_json(simulator) -> None:
    status, body = control(simulator, "/_sim/nope")
    assert status == 404 and "Unknown control" in body["error"]["message"]
    status, body = control(simulator, "/_sim/clock", method="GET")
    assert status == 200 and body["now"] > 0
    assert json.dumps(body)


def test_only_the_endpoints_enabled_events_are_delivered(simulator, stripe_client, receiver):
    status, endpoint = control(simulator, "/_sim/webhooks", method="GET")
    assert endpoint["enabled_events"] == ["*"]
    status, endpoint = control(
        simulator, "/_sim/webhooks", enabled_events=["checkout.session.expired"]
    )
    assert status == 200 and endpoint["enabled_events"] == ["checkout.session.expired"]
    try:
        stripe_client.v1.customers.create(params={"email": "a@example.com"})
        session = stripe_client.v1.checkout.sessions.expire(payment_session(stripe_client).id)
        assert simulator.flush()
        assert receiver.types() == ["checkout.session.expired"]
        assert receiver.events[0]["data"]["object"]["id"] == session.id
        stored = {e["type"]: e for e in simulator.sim.events()}
        assert "customer.created" in stored  # stored and listed all the same
        assert stored["customer.created"]["pending_webhooks"] == 0
        assert stored["checkout.session.expired"]["pending_webhooks"] == 1
        status, _ = control(simulator, "/_sim/webhooks", enabled_events=[])
        assert status == 400
    finally:
        control(simulator, "/_sim/webhooks", enabled_events=["*"])
