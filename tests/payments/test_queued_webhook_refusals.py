"""The queued webhook refuses what it always refused, with the same status and reason, and
stores nothing; what it stores is the body Stripe signed, exactly."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from fundraiser.extensions import db
from fundraiser.models import StripeEvent
from tests.conftest import WEBHOOK_SECRET


def signed_post(client, body: bytes, secret: str = WEBHOOK_SECRET, timestamp=None, header=None):
    signature = stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8", "replace"), secret, timestamp
    )
    headers = {"Content-Type": "application/json", "Stripe-Signature": header or signature}
    return client.post("/stripe/webhook", data=body, headers=headers)


def an_event(event_id: str = "evt_queued_1", **fields) -> dict:
    """An event of a type we handle whose handler has work to do (it would wait for a worker)."""
    invoice = {"id": "in_queued_1", "object": "invoice", "status": "paid", **fields}
    return {"id": event_id, "object": "event", "type": "invoice.paid",
            "created": int(time.time()), "data": {"object": invoice}}  # fmt: skip


def stored_events() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(StripeEvent))


def rejected_count() -> float:
    labels = {"type": "unknown", "outcome": "rejected"}
    return REGISTRY.get_sample_value("fundraiser_webhook_events_total", labels) or 0.0


def test_queued_mode_refuses_bad_signatures_and_bodies_with_the_same_answers(app, queued_app):
    client = queued_app.test_client()
    body = json.dumps(an_event()).encode()
    tampered_body = body.replace(b"in_queued_1", b"in_queued_2")
    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    before = rejected_count()
    cases = [
        (signed_post(client, body, secret="whsec_wrong"), "Invalid signature."),
        (signed_post(client, tampered_body, header=signature), "Invalid signature."),
        (signed_post(client, body, timestamp=int(time.time()) - 3600), "Invalid signature."),
        (
            client.post("/stripe/webhook", data=body, headers={"Content-Type": "application/json"}),
            "Missing Stripe-Signature header.",
        ),
        (signed_post(client, b'{"id": "evt_x", "type": '), "The body is not a JSON event."),
        (signed_post(client, b"[1, 2]"), "The body is not a JSON event."),
        (signed_post(client, b"\xff\xfe{}"), "The body is not UTF-8."),
        (
            signed_post(client, b'{"id": "evt_x", "type": "invoice.paid"}'),
            "The event has no data object.",
        ),
    ]
    for response, reason in cases:
        assert response.status_code == 400, reason
        assert response.get_json() == {"error": "invalid webhook", "reason": reason}
    assert rejected_count() == before + len(cases)
    with queued_app.app_context():
        assert stored_events() == 0
    accepted = signed_post(client, body)
    assert accepted.status_code == 200 and accepted.get_json()["duplicate"] is False


@pytest.mark.parametrize(
    "description, reason",
    [
        ("a\x00b", "a NUL character"),
        ("\ud800 alone", "not valid Unicode"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        ("deep", "nested too deeply"),
    ],
)
def test_queued_mode_refuses_a_payload_it_could_not_store_and_says_where(
    app, queued_app, description, reason
):
    event = an_event(description=description)
    if description == "deep":
        nested: dict = {}
        for _ in range(70):
            nested = {"n": nested}
        event["data"]["object"]["description"] = nested
    body = json.dumps(event).encode()  # NaN and Infinity as Python's json writes them
    response = signed_post(queued_app.test_client(), body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid webhook"
    assert reason in response.get_json()["reason"]
    if description != "deep":
        assert "'description'" in response.get_json()["reason"]
    with queued_app.app_context():
        assert stored_events() == 0


@pytest.mark.parametrize(
    "description",
    [
        "a patron 😀 (a surrogate pair in ASCII JSON)",
        "a backslash-u0000 written out: \\u0000",
        "brackets in text: " + "{[" * 40,
        1.5e300,
    ],
)
def test_queued_mode_stores_the_signed_body_exactly(app, queued_app, description):
    """The payload kept for the worker is the body as Stripe signed it, byte for byte, and
    reads back as the event; text that merely looks odd to the quick check is fine."""
    event = an_event(description=description)
    body = json.dumps(event, indent=2)  # not as json.dumps would write the event again
    response = signed_post(queued_app.test_client(), body.encode())
    assert response.status_code == 200, response.get_json()
    with queued_app.app_context():
        row = db.session.get(StripeEvent, event["id"])
        assert row.applied_at is None and row.payload == event
        raw = db.session.execute(
            text("SELECT CAST(payload AS TEXT) FROM stripe_events WHERE id = :id"),
            {"id": event["id"]},
        ).scalar()
        assert raw == body
