"""Renewals, the simulated clock, dunning, disputes: time-driven behaviour of the simulator."""

from __future__ import annotations

import time

from werkzeug.test import Client

from simulators.stripe import flows, start_simulator
from simulators.stripe.cards import check_card

from .helpers import complete, control, paid_subscription, payment_session

RENEWAL_PAID = [
    "invoice.created",
    "invoice.finalized",
    "charge.succeeded",
    "payment_intent.succeeded",
    "invoice.paid",
    "invoice.payment_succeeded",
    "customer.subscription.updated",
]


def new_types(sim, before: int) -> list[str]:
    return sim.event_types()[before:]


def test_advance_renews_and_pays(simulator, stripe_client, receiver) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    sim = simulator.sim
    old = sim.get(sub_id)["items"]["data"][0]
    seen = len(sim.events())
    status, invoice = control(simulator, f"/_sim/subscriptions/{sub_id}/advance", outcome="paid")
    assert status == 200 and invoice["object"] == "invoice"
    assert invoice["billing_reason"] == "subscription_cycle" and invoice["status"] == "paid"
    assert invoice["parent"]["subscription_details"]["metadata"] == {"pledge_id": "p-9"}
    assert invoice["lines"]["data"][0]["period"]["start"] == old["current_period_end"]
    assert new_types(sim, seen) == RENEWAL_PAID
    item = sim.get(sub_id)["items"]["data"][0]
    assert item["current_period_start"] == old["current_period_end"]
    assert item["current_period_end"] > item["current_period_start"]
    assert sim.now() >= old["current_period_end"]
    updated = sim.events("customer.subscription.updated")[-1]
    assert "items" in updated["data"]["previous_attributes"]
    assert simulator.flush() and receiver.rejected == []


def test_failed_renewal_goes_past_due_and_portal_card_recovers(simulator, stripe_client) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    sim = simulator.sim
    seen = len(sim.events())
    status, invoice = control(simulator, f"/_sim/subscriptions/{sub_id}/advance", outcome="failed")
    assert invoice["status"] == "open" and invoice["attempt_count"] == 1
    assert invoice["next_payment_attempt"]
    types = new_types(sim, seen)
    assert types[0:2] == ["invoice.created", "invoice.finalized"]
    assert types[-2:] == ["invoice.payment_failed", "customer.subscription.updated"]
    assert sim.get(sub_id)["status"] == "past_due"
    customer_id = sim.get(sub_id)["customer"]
    portal = stripe_client.v1.billing_portal.sessions.create(params={"customer": customer_id})
    seen = len(sim.events())
    response = Client(sim).post(
        f"/p/session/{portal.id}",
        data={"card_number": "4242424242424242", "card_expiry": "11/33", "card_cvc": "999"},
    )
    assert response.status_code == 200
    assert sim.get(invoice["id"])["status"] == "paid"
    assert sim.get(sub_id)["status"] == "active"
    types = new_types(sim, seen)
    assert types[:2] == ["payment_method.attached", "customer.updated"]
    assert {"invoice.paid", "invoice.payment_succeeded"} <= set(types)


def test_retry_control_for_dunning(simulator, stripe_client) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    _, invoice = control(simulator, f"/_sim/subscriptions/{sub_id}/advance", outcome="failed")
    _, again = control(simulator, f"/_sim/invoices/{invoice['id']}/retry", outcome="failed")
    assert again["attempt_count"] == 2 and again["status"] == "open"
    _, paid = control(simulator, f"/_sim/invoices/{invoice['id']}/retry", outcome="paid")
    assert paid["status"] == "paid" and simulator.sim.get(sub_id)["status"] == "active"


def test_paused_collection_voids_the_invoice(simulator, stripe_client) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    stripe_client.v1.subscriptions.update(sub_id, params={"pause_collection": {"behavior": "void"}})
    seen = len(simulator.sim.events())
    _, invoice = control(simulator, f"/_sim/subscriptions/{sub_id}/advance")
    assert invoice["status"] == "void" and invoice["amount_paid"] == 0
    assert new_types(simulator.sim, seen) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.voided",
        "customer.subscription.updated",
    ]


def test_cancel_at_period_end_ends_at_renewal(simulator, stripe_client) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    stripe_client.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
    _, body = control(simulator, f"/_sim/subscriptions/{sub_id}/advance")
    assert body["object"] == "subscription" and body["status"] == "canceled"
    assert simulator.sim.event_types()[-1] == "customer.subscription.deleted"
    status, _ = control(simulator, f"/_sim/subscriptions/{sub_id}/advance")
    assert status == 400


def test_renewal_with_a_card_that_fails_later(simulator, stripe_client) -> None:
    session_id = payment_session(stripe_client).id  # unrelated traffic
    complete(simulator, session_id)
    sub_id = paid_subscription(simulator, stripe_client)
    sim = simulator.sim
    customer_id = sim.get(sub_id)["customer"]
    with sim.lock:
        card = check_card("4000000000000341", "12/34", "123", sim.now())
        flows.replace_card(sim, customer_id, card, None)
    _, invoice = control(simulator, f"/_sim/subscriptions/{sub_id}/advance")
    assert invoice["status"] == "open" and sim.get(sub_id)["status"] == "past_due"


def test_clock_advance_renews_thousands_quickly() -> None:
    handle = start_simulator()
    try:
        sim = handle.sim
        count = 2000
        with sim.transaction():
            product = flows.create_product(sim, "Monthly support")
            card = check_card("4242424242424242", "12/34", "123", sim.now())
            for n in range(count):
                interval = "year" if n % 10 == 0 else "month"
                price = flows.create_price(
                    sim, "usd", 500, product["id"], {"interval": interval, "interval_count": 1,
                    "meter": None, "usage_type": "licensed", "trial_period_days": None},
                )  # fmt: skip
                customer = flows.create_customer(sim, f"m{n}@example.com", None)
                pm = flows.create_payment_method(sim, card, None, None, customer["id"])
                flows.start_subscription(sim, customer, price, pm, {"metadata": {"n": str(n)}})
        started = time.perf_counter()
        status, counts = control(handle, "/_sim/clock/advance", seconds=32 * 86400)
        elapsed = time.perf_counter() - started
        assert status == 200
        assert counts["renewed"] == count * 9 // 10 and counts["payment_failed"] == 0
        assert elapsed < 20, elapsed
        cycle = [i for i in sim.objects("invoice") if i["billing_reason"] == "subscription_cycle"]
        assert len(cycle) == count * 9 // 10
        assert all(i["status"] == "paid" for i in cycle)
        _, again = control(handle, "/_sim/clock/advance", seconds=3600)
        assert again["renewed"] == 0
    finally:
        handle.stop()


def test_clock_advance_expires_open_sessions(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    _, counts = control(simulator, "/_sim/clock/advance", seconds=2 * 86400)
    assert counts["sessions_expired"] == 1
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "expired"


def test_disputes_won_and_lost(simulator, stripe_client) -> None:
    charges = []
    for _ in range(2):
        done = complete(simulator, payment_session(stripe_client, amount=2000).id)["session"]
        charges.append(simulator.sim.get(done["payment_intent"])["latest_charge"])
    status, won = control(simulator, f"/_sim/charges/{charges[0]}/dispute", reason="fraudulent")
    assert status == 200 and won["status"] == "needs_response" and won["amount"] == 2000
    assert stripe_client.v1.charges.retrieve(charges[0]).disputed is True
    _, won = control(simulator, f"/_sim/disputes/{won['id']}/close", status="won")
    assert won["status"] == "won" and won["balance_transactions"] == []
    _, lost = control(simulator, f"/_sim/charges/{charges[1]}/dispute", amount=1500)
    seen = len(simulator.sim.events())
    _, lost = control(simulator, f"/_sim/disputes/{lost['id']}/close", status="lost")
    assert lost["status"] == "lost"
    withdrawal = lost["balance_transactions"][0]
    assert withdrawal["amount"] == -1500 and withdrawal["fee"] == 1500
    assert new_types(simulator.sim, seen) == [
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ]
    fetched = stripe_client.v1.disputes.retrieve(lost["id"])
    assert fetched.reason == "fraudulent" and fetched.charge == charges[1]
