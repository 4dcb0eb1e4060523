"""Hostile webhook deliveries, signed and unsigned: never a 5xx, nothing stored when refused."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import time
import uuid

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from fundraiser.payments.events import HANDLERS
from tests.conftest import FIXTURES3, WEBHOOK_SECRET
from tests.fuzz.conftest import ANY_TEXT, FUZZ, assert_answered_sanely, row_counts
from tests.helpers import donate, pay, session_id_from

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Which resource each handled event type carries, for the recorded-shape templates.
RESOURCE_OF = {
    "checkout.session": "checkout.session",
    "payment_intent": "payment_intent",
    "invoice": "invoice",
    "customer.subscription": "subscription",
    "charge.refunded": "charge",
    "refund": "refund",
    "charge.dispute": "dispute",
}


def signature_for(body: bytes | str) -> str:
    """Stripe's v1 scheme over the exact bytes sent (its helper only signs text)."""
    raw = body.encode() if isinstance(body, str) else body
    timestamp = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def deliver(client, body: bytes | str, signed: bool = True, content_type="application/json"):
    headers = {"Content-Type": content_type}
    if signed:
        headers["Stripe-Signature"] = signature_for(body)
    return client.post("/stripe/webhook", data=body, headers=headers)


def test_our_signatures_match_stripes_own_helper():
    body = '{"id": "evt_1"}'
    ours = signature_for(body).split(",v1=")[1]
    theirs = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
    assert theirs.endswith(f"v1={ours}") or int(theirs[2:12]) != int(time.time())


def fixture_events() -> list[dict]:
    """One event per handled type, its object from Stripe's published fixtures."""
    if not FIXTURES3.exists():
        return []
    resources = json.loads(FIXTURES3.read_text())["resources"]
    found = []
    for event_type in HANDLERS:
        resource = next(r for prefix, r in RESOURCE_OF.items() if event_type.startswith(prefix))
        if resource in resources:
            found.append(_event(event_type, copy.deepcopy(resources[resource])))
    return found


def _event(event_type: str, obj: dict) -> dict:
    return {
        "id": f"evt_fuzz_{uuid.uuid4().hex}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


@pytest.fixture
def known_events(client, campaign, stripe_sim) -> list[dict]:
    """Real-shaped events about our own donations (whose deliveries were lost) and fixtures."""
    stripe_sim.sim.faults.update({"drop_webhooks": 10_000})
    for frequency in ("one-time", "monthly"):
        pay(stripe_sim, session_id_from(donate(client, campaign, frequency=frequency)))
    stripe_sim.sim.faults.reset()
    recorded = [e for e in stripe_sim.sim.events() if e["type"] in HANDLERS]
    assert recorded, "the simulator recorded no events"
    return recorded + fixture_events()


def paths_in(value, prefix=()) -> list[tuple]:
    """Every place in a JSON document that could hold a different value."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_in(child, (*prefix, index))
    return found


def replace_at(document, path: tuple, new_value, delete: bool) -> None:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new_value


@FUZZ
@given(data=st.data())
def test_signed_known_events_with_wrong_types_never_break_the_endpoint(
    app, client, known_events, data
):
    event = copy.deepcopy(data.draw(st.sampled_from(known_events), label="template"))
    event["id"] = f"evt_fuzz_{uuid.uuid4().hex}"
    if data.draw(st.booleans(), label="swap type"):
        event["type"] = data.draw(st.sampled_from(sorted(HANDLERS)), label="type")
    places = paths_in(event)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(places), label="path")
        # An earlier mutation may have removed or replaced this place.
        with contextlib.suppress(KeyError, IndexError, TypeError):
            replace_at(
                event,
                path,
                data.draw(JSON_VALUES, label="value"),
                delete=data.draw(st.booleans(), label="delete"),
            )
    with app.app_context():
        before = row_counts()
    response = deliver(client, json.dumps(event))
    assert_answered_sanely(response, {200, 400})
    assert response.mimetype == "application/json"
    if response.status_code == 400:
        with app.app_context():
            assert row_counts() == before


@FUZZ
@given(document=JSON_VALUES)
def test_signed_json_that_is_not_an_event_is_refused(app, client, campaign, document):
    with app.app_context():
        before = row_counts()
    response = deliver(client, json.dumps(document))
    assert_answered_sanely(response, {200, 400})
    if response.status_code == 400:
        with app.app_context():
            assert row_counts() == before


@FUZZ
@given(body=st.binary(max_size=3000), signed=st.booleans(), signature=ANY_TEXT)
def test_random_bytes_signed_or_not_are_refused(app, client, campaign, body, signed, signature):
    with app.app_context():
        before = row_counts()
    if signed:
        response = deliver(client, body)
    else:
        header = "".join(c for c in signature if c.isprintable() and ord(c) < 256)
        response = client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": header})
    assert_answered_sanely(response, {400})
    with app.app_context():
        assert row_counts() == before


def nested(depth: int) -> str:
    inner = "[" * depth + "]" * depth
    return (
        json.dumps(_event("checkout.session.completed", {"id": "cs_x"}))[:-2]
        + f', "x": {inner}}}}}'
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-array"),
        pytest.param('{"a":' * 40_000 + "1" + "}" * 40_000, id="deep-object"),
        pytest.param(nested(5_000), id="deep-inside-a-real-event"),
        pytest.param("[1]", id="array"),
        pytest.param("null", id="null"),
        pytest.param('"evt"', id="string"),
        pytest.param("NaN", id="nan"),
        pytest.param('{"id": "evt_1", "type": "invoice.paid", "data": []}', id="data-list"),
        pytest.param('{"id": 1, "type": ["x"], "data": {"object": {}}}', id="id-int"),
        pytest.param("\ufeff{}", id="bom"),
    ],
)
def test_signed_odd_documents_are_refused_with_400(app, client, campaign, body):
    with app.app_context():
        before = row_counts()
    response = deliver(client, body)
    assert_answered_sanely(response, {400})
    with app.app_context():
        assert row_counts() == before


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1", "cp1252"])
def test_events_in_other_encodings_are_refused(app, client, campaign, encoding):
    body = json.dumps(
        _event("invoice.paid", {"id": "in_1", "customer_name": "Zoë"}), ensure_ascii=False
    )
    response = client.post(
        "/stripe/webhook",
        data=body.encode(encoding),
        headers={
            "Content-Type": f"application/json; charset={encoding}",
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                body, WEBHOOK_SECRET
            ),
        },
    )
    assert_answered_sanely(response, {400})


def test_a_huge_signed_body_is_refused_with_413_before_it_is_read(app, client, campaign):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps(_event("invoice.paid", {"id": "in_1", "pad": "x" * limit}))
    response = deliver(client, body)
    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    with app.app_context():
        assert sum(row_counts().values()) == row_counts()["campaigns"]
