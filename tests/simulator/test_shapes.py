"""Every object the simulator serves has the keys and nesting of Stripe's own fixture."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .helpers import complete, control, payment_session, subscription_session

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared/stripe/fixtures3.json"

# object type → nested paths whose key sets must match the fixture too
NESTED = {
    "checkout.session": ["customer_details", "customer_details.address", "automatic_tax",
                         "total_details", "custom_text", "phone_number_collection",
                         "collected_information"],
    "payment_intent": ["amount_details"],
    "charge": ["billing_details", "billing_details.address", "outcome", "payment_method_details",
               "payment_method_details.card", "payment_method_details.card.checks", "refunds"],
    "refund": ["destination_details", "destination_details.card"],
    "dispute": ["evidence", "evidence_details", "payment_method_details",
                "payment_method_details.card"],
    "invoice": ["lines", "lines.data.0", "lines.data.0.period", "lines.data.0.parent",
                "lines.data.0.parent.subscription_item_details", "status_transitions", "parent",
                "parent.subscription_details", "automatic_tax", "issuer", "payment_settings"],
    "subscription": ["items", "items.data.0", "items.data.0.price", "items.data.0.plan",
                     "items.data.0.price.recurring", "cancellation_details", "invoice_settings",
                     "automatic_tax", "trial_settings", "pause_collection", "billing_mode"],
    "subscription_item": ["price", "plan", "price.recurring"],
    "customer": ["invoice_settings"],
    "price": ["recurring"],
    "product": [],
    "payment_method": ["billing_details", "billing_details.address", "card", "card.checks",
                       "card.networks", "card.three_d_secure_usage"],
    "setup_intent": [],
    "billing_portal.session": [],
    "balance_transaction": [],
    "event": ["request"],
    "invoice_payment": ["payment", "status_transitions"],
}  # fmt: skip
# Where the fixture and a live object legitimately differ in variant-specific members.
EXTRA_ALLOWED = {
    ("invoice", "lines.data.0"): set(),
    ("invoice_payment", "payment"): {"payment_intent"},
    ("billing_mode", "flexible"): set(),
}


# Keys Stripe adds only in some states, so the fixture (a succeeded refund) lacks them.
STATE_KEYS = {
    # "failure_balance_transaction" and "failure_reason" exist only on a failed refund.
    ("refund", "failed"): {"failure_balance_transaction", "failure_reason"},
}


def top_keys(obj: dict[str, Any]) -> set[str]:
    return set(obj) - STATE_KEYS.get((obj["object"], obj.get("status")), set())


@pytest.fixture(scope="module")
def fixture_resources() -> dict[str, Any]:
    if not FIXTURES.exists():
        pytest.skip("../shared/stripe/fixtures3.json is not beside the repository")
    return json.loads(FIXTURES.read_text())["resources"]


def dig(obj: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def served_objects(simulator: Any, stripe_client: Any) -> dict[str, dict[str, Any]]:
    """Drive every flow once and collect one live object of each type."""
    session = payment_session(stripe_client)
    paid = complete(simulator, session.id, name="Ada Reader")["session"]
    sub_session = subscription_session(stripe_client)
    sub_paid = complete(simulator, sub_session.id)["session"]
    setup = stripe_client.v1.checkout.sessions.create(
        params={"mode": "setup", "currency": "usd", "success_url": "https://news.example/ok"}
    )
    complete(simulator, setup.id)
    sim = simulator.sim
    pi = sim.get(paid["payment_intent"])
    ch = sim.get(pi["latest_charge"])
    refund = stripe_client.v1.refunds.create(params={"charge": ch["id"], "amount": 100})
    status, dispute = control(simulator, f"/_sim/charges/{ch['id']}/dispute")
    assert status == 200
    sub = sim.get(sub_paid["subscription"])
    pause = {"behavior": "void", "resumes_at": sim.now() + 90 * 86400}
    stripe_client.v1.subscriptions.update(sub["id"], params={"pause_collection": pause})
    sub = sim.get(sub["id"])
    invoice = sim.get(sub["latest_invoice"])
    portal = stripe_client.v1.billing_portal.sessions.create(
        params={"customer": sub["customer"], "return_url": "https://news.example/account"}
    )
    events = stripe_client.v1.events.list(params={"limit": 1})
    return {
        "checkout.session": sim.get(paid["id"]),
        "payment_intent": pi,
        "charge": sim.get(ch["id"]),
        "refund": sim.get(refund.id),
        "dispute": dispute,
        "invoice": invoice,
        "subscription": sub,
        "subscription_item": sub["items"]["data"][0],
        "customer": sim.get(sub["customer"]),
        "price": sub["items"]["data"][0]["price"],
        "product": sim.get(sub["items"]["data"][0]["price"]["product"]),
        "payment_method": sim.get(ch["payment_method"]),
        "setup_intent": sim.get(sim.get(setup.id)["setup_intent"]),
        "billing_portal.session": sim.get(portal.id),
        "balance_transaction": sim.get(ch["balance_transaction"]),
        "event": sim.get(events.data[0].id),
        "invoice_payment": sim.objects("invoice_payment")[0],
    }


def test_every_served_object_matches_the_fixture_keys(
    fixture_resources, simulator, stripe_client
) -> None:
    objects = served_objects(simulator, stripe_client)
    assert set(objects) == set(NESTED)
    for kind, live in objects.items():
        reference = fixture_resources[kind]
        assert live["object"] == reference["object"], kind
        assert set(live) == set(reference), (kind, sorted(set(live) ^ set(reference)))
        for path in NESTED[kind]:
            mine, theirs = dig(live, path), dig(reference, path)
            assert isinstance(mine, dict), (kind, path, mine)
            extra = EXTRA_ALLOWED.get((kind, path), set())
            assert set(mine) - extra == set(theirs), (kind, path, sorted(set(mine) ^ set(theirs)))


def test_webhook_event_objects_match_too(fixture_resources, simulator, stripe_client) -> None:
    session = subscription_session(stripe_client)
    complete(simulator, session.id)
    for event in simulator.sim.events():
        obj = event["data"]["object"]
        kind = obj["object"]
        assert set(event) == set(fixture_resources["event"])
        assert set(obj) == set(fixture_resources[kind]), (event["type"], kind)


def test_money_events_objects_match_and_inquiries_move_no_money(
    fixture_resources, simulator, stripe_client
) -> None:
    """Refunds (and one that fails), a chargeback, an inquiry and a prevented dispute: every
    event's object has the fixture's keys; only the chargeback and the failed refund move
    money back and forth in balance transactions."""
    sim = simulator.sim
    charges = []
    for _ in range(4):
        paid = complete(simulator, payment_session(stripe_client).id)["session"]
        charges.append(sim.get(paid["payment_intent"])["latest_charge"])
    refund = stripe_client.v1.refunds.create(params={"charge": charges[0], "amount": 300})
    assert refund.balance_transaction.startswith("txn_")
    status, failed = control(simulator, f"/_sim/refunds/{refund.id}/fail")
    assert status == 200 and failed["status"] == "failed"
    assert failed["failure_balance_transaction"].startswith("txn_")
    assert sim.get(failed["failure_balance_transaction"])["amount"] == 300
    status, lost = control(simulator, f"/_sim/charges/{charges[1]}/dispute")
    control(simulator, f"/_sim/disputes/{lost['id']}/close", status="lost")
    status, inquiry = control(simulator, f"/_sim/charges/{charges[2]}/dispute", inquiry="1")
    assert inquiry["status"] == "warning_needs_response"
    status, closed = control(simulator, f"/_sim/disputes/{inquiry['id']}/close", status="won")
    assert closed["status"] == "warning_closed" and closed["balance_transactions"] == []
    status, prevented = control(simulator, f"/_sim/charges/{charges[3]}/dispute", prevented="1")
    assert prevented["status"] == "prevented" and prevented["balance_transactions"] == []
    assert sim.get(lost["id"])["balance_transactions"]
    seen = set()
    for event in sim.events():
        obj = event["data"]["object"]
        assert set(event) == set(fixture_resources["event"]), event["type"]
        assert top_keys(obj) == set(fixture_resources[obj["object"]]), (event["type"], obj)
        seen.add(event["type"])
    assert {"refund.created", "refund.failed", "refund.updated", "charge.refunded",
            "charge.dispute.created", "charge.dispute.closed",
            "charge.dispute.funds_withdrawn"} <= seen  # fmt: skip
    closed_types = [(e["type"], e["data"]["object"]["status"]) for e in sim.events()
                    if e["data"]["object"]["id"] in (inquiry["id"], prevented["id"])]  # fmt: skip
    assert closed_types == [
        ("charge.dispute.created", "warning_needs_response"),
        ("charge.dispute.closed", "warning_closed"),
        ("charge.dispute.created", "prevented"),
        ("charge.dispute.closed", "prevented"),
    ]
