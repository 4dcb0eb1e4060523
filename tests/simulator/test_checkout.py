"""Completing checkout: the hosted HTML page and the /_sim shortcut, with every card outcome."""

from __future__ import annotations

from werkzeug.test import Client

from .helpers import complete, control, payment_session, subscription_session

PAYMENT_EVENTS = [
    "customer.created",
    "payment_intent.created",
    "charge.succeeded",
    "payment_intent.succeeded",
    "checkout.session.completed",
]
SUBSCRIPTION_EVENTS = [
    "customer.created",
    "customer.subscription.created",
    "invoice.created",
    "invoice.finalized",
    "charge.succeeded",
    "payment_intent.succeeded",
    "invoice.paid",
    "invoice.payment_succeeded",
    "checkout.session.completed",
]


def form(card: str = "4242 4242 4242 4242", expiry: str = "12 / 34", **extra: str) -> dict:
    return {
        "email": "reader@example.com",
        "card_number": card,
        "card_expiry": expiry,
        "card_cvc": "123",
        "name": "Ada Reader",
        **extra,
    }


def test_page_is_labelled_and_prefilled(simulator, stripe_client) -> None:
    session = payment_session(stripe_client, amount=1250)
    page = Client(simulator.sim).get(f"/c/pay/{session.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<title>Stripe test checkout (simulator)</title>" in html
    for field in ("email", "card_number", "card_expiry", "card_cvc", "name"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    assert 'value="reader@example.com"' in html
    assert "$12.50" in html and 'id="submit"' in html and "Donate $12.50" in html
    assert 'href="https://news.example/donate"' in html and "← Back" in html


def test_page_shows_interval_and_description(simulator, stripe_client) -> None:
    session = subscription_session(
        stripe_client,
        line_items=[{"quantity": 1, "price_data": {
            "currency": "eur", "unit_amount": 500, "recurring": {"interval": "year"},
            "product_data": {"name": "Yearly support", "description": "Keeps the desk open"}}}],
    )  # fmt: skip
    html = Client(simulator.sim).get(f"/c/pay/{session.id}").get_data(as_text=True)
    assert "€5.00" in html and "per year" in html and "Keeps the desk open" in html
    assert ">Subscribe</button>" in html


def test_form_success_redirects_and_emits_events_in_order(simulator, stripe_client, receiver):
    session = payment_session(stripe_client)
    response = Client(simulator.sim).post(f"/c/pay/{session.id}", data=form())
    assert response.status_code == 303
    assert response.headers["Location"] == f"https://news.example/thanks?session={session.id}"
    done = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.customer_details.email == "reader@example.com"
    assert done.customer_details.name == "Ada Reader"
    assert simulator.sim.event_types() == PAYMENT_EVENTS
    charge = simulator.sim.get(simulator.sim.get(done.payment_intent)["latest_charge"])
    assert charge["billing_details"]["name"] == "Ada Reader"
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    assert simulator.flush()
    assert sorted(receiver.types()) == sorted(PAYMENT_EVENTS)
    assert receiver.rejected == []
    headers = receiver.events[0]["_headers"]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["User-Agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    again = Client(simulator.sim).post(f"/c/pay/{session.id}", data=form())
    assert again.status_code == 409 and "already been completed" in again.get_data(as_text=True)


def test_declines_keep_the_session_open(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    client = Client(simulator.sim)
    declined = client.post(f"/c/pay/{session.id}", data=form("4000000000000002"))
    assert declined.status_code == 402
    html = declined.get_data(as_text=True)
    assert 'role="alert"' in html and "Your card was declined." in html
    assert 'aria-invalid="true"' in html
    broke = client.post(f"/c/pay/{session.id}", data=form("4000 0000 0000 9995"))
    assert "insufficient funds" in broke.get_data(as_text=True)
    assert simulator.sim.event_types() == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "charge.failed",
        "payment_intent.payment_failed",
    ]
    assert simulator.sim.get(session.id)["status"] == "open"
    ok = client.post(f"/c/pay/{session.id}", data=form("4000 0000 0000 3220"))
    assert ok.status_code == 303
    pi = simulator.sim.get(simulator.sim.get(session.id)["payment_intent"])
    assert pi["status"] == "succeeded" and pi["customer"]
    assert len(simulator.sim.objects("payment_intent")) == 1  # retries reuse the intent


def test_input_errors(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    client = Client(simulator.sim)
    luhn = client.post(f"/c/pay/{session.id}", data=form("4242 4242 4242 4241"))
    assert luhn.status_code == 400 and "Your card number is invalid." in luhn.get_data(True)
    old = client.post(f"/c/pay/{session.id}", data=form(expiry="01 / 20"))
    assert "expiration date is in the past" in old.get_data(as_text=True)
    assert simulator.sim.event_types() == []


def test_closed_sessions_are_refused(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    stripe_client.v1.checkout.sessions.expire(session.id)
    page = Client(simulator.sim).post(f"/c/pay/{session.id}", data=form())
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    status, body = control(simulator, f"/_sim/checkout/{session.id}/complete")
    assert status == 409


def test_programmatic_completion_and_decline(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    status, body = control(
        simulator, f"/_sim/checkout/{session.id}/complete", card="4000000000000002"
    )
    assert status == 402 and body["error"]["decline_code"] == "generic_decline"
    done = complete(simulator, session.id, email="other@example.com", name="Bo")
    assert done["redirect_url"].endswith(session.id)
    assert done["session"]["customer_details"]["email"] == "other@example.com"


def test_subscription_checkout_events(simulator, stripe_client, receiver) -> None:
    session = subscription_session(stripe_client)
    response = Client(simulator.sim).post(f"/c/pay/{session.id}", data=form())
    assert response.status_code == 303
    assert simulator.sim.event_types() == SUBSCRIPTION_EVENTS
    completed = simulator.sim.events("checkout.session.completed")[0]["data"]["object"]
    assert completed["subscription"] and completed["invoice"]
    assert simulator.flush()
    assert sorted(receiver.types()) == sorted(SUBSCRIPTION_EVENTS)


def test_async_payment_success_and_failure(simulator, stripe_client) -> None:
    good, bad = payment_session(stripe_client), payment_session(stripe_client)
    for session in (good, bad):
        done = complete(simulator, session.id, **{"async": "1"})
        assert done["session"]["status"] == "complete"
        assert done["session"]["payment_status"] == "unpaid"
    control(simulator, f"/_sim/checkout/{good.id}/async", result="succeeded")
    control(simulator, f"/_sim/checkout/{bad.id}/async", result="failed")
    assert simulator.sim.get(good.id)["payment_status"] == "paid"
    assert simulator.sim.get(bad.id)["payment_status"] == "unpaid"
    types = simulator.sim.event_types()
    assert types.count("checkout.session.completed") == 2
    assert "checkout.session.async_payment_succeeded" in types
    assert "checkout.session.async_payment_failed" in types
    status, _ = control(simulator, f"/_sim/checkout/{good.id}/async", result="failed")
    assert status == 400


def test_setup_checkout_events(simulator, stripe_client) -> None:
    session = stripe_client.v1.checkout.sessions.create(
        params={"mode": "setup", "currency": "usd", "success_url": "https://news.example/ok"}
    )
    page = Client(simulator.sim).get(f"/c/pay/{session.id}")
    assert "Save card" in page.get_data(as_text=True)
    complete(simulator, session.id)
    assert simulator.sim.event_types() == ["setup_intent.succeeded", "checkout.session.completed"]


def test_portal_page_updates_card_and_cancels(simulator, stripe_client) -> None:
    session = subscription_session(stripe_client)
    sub_id = complete(simulator, session.id)["session"]["subscription"]
    customer_id = simulator.sim.get(sub_id)["customer"]
    portal = stripe_client.v1.billing_portal.sessions.create(
        params={"customer": customer_id, "return_url": "https://news.example/account"}
    )
    client = Client(simulator.sim)
    html = client.get(f"/p/session/{portal.id}").get_data(as_text=True)
    assert 'href="https://news.example/account"' in html and 'for="card_number"' in html
    updated = client.post(
        f"/p/session/{portal.id}",
        data={"card_number": "5555 5555 5555 4444", "card_expiry": "10/30", "card_cvc": "321"},
    )
    assert updated.status_code == 200 and "was updated" in updated.get_data(as_text=True)
    customer = simulator.sim.get(customer_id)
    pm = simulator.sim.get(customer["invoice_settings"]["default_payment_method"])
    assert pm["card"]["last4"] == "4444" and pm["card"]["brand"] == "mastercard"
    assert simulator.sim.get(sub_id)["default_payment_method"] == pm["id"]
    client.post(f"/p/session/{portal.id}", data={"action": "cancel", "subscription": sub_id})
    assert simulator.sim.get(sub_id)["cancel_at_period_end"] is True
    types = simulator.sim.event_types()
    assert {"payment_method.attached", "customer.updated"} <= set(types)
