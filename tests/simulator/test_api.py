"""The official stripe library, pointed at the simulator, works unchanged."""

from __future__ import annotations

import time

import pytest
import stripe

from .helpers import (
    complete,
    control,
    paid_subscription,
    payment_session,
    subscription_session,
)


def test_payment_session_create_and_retrieve(simulator, stripe_client) -> None:
    session = payment_session(stripe_client, amount=2500, client_reference_id="ref-1")
    assert session.id.startswith("cs_test_")
    assert session.url == f"{simulator.url}/c/pay/{session.id}"
    assert (session.status, session.payment_status, session.mode) == ("open", "unpaid", "payment")
    assert session.amount_total == 2500 and session.currency == "usd"
    assert session.metadata.to_dict() == {"donation_id": "d-1"}
    assert session.client_reference_id == "ref-1"
    assert session.livemode is False
    again = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert again.to_dict() == session.to_dict()


def test_expand_on_retrieve(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    complete(simulator, session.id)
    expanded = stripe_client.v1.checkout.sessions.retrieve(
        session.id,
        params={"expand": ["payment_intent.latest_charge.balance_transaction", "customer",
                           "line_items"]},
    )  # fmt: skip
    charge = expanded.payment_intent.latest_charge
    assert charge.object == "charge" and charge.paid and charge.captured
    assert charge.balance_transaction.fee == 59  # 2.9% + 30¢ of $10.00
    assert charge.balance_transaction.net == 941
    assert charge.metadata.to_dict() == {"donation_id": "d-1"}
    assert expanded.customer.email == "reader@example.com"
    assert expanded.line_items.data[0].amount_total == 1000
    plain = stripe_client.v1.payment_intents.retrieve(expanded.payment_intent.id)
    assert isinstance(plain.latest_charge, str)


def test_subscription_session_and_invoice_metadata(simulator, stripe_client) -> None:
    session = subscription_session(stripe_client, amount=700)
    done = complete(simulator, session.id)["session"]
    sub = stripe_client.v1.subscriptions.retrieve(
        done["subscription"], params={"expand": ["latest_invoice"]}
    )
    assert sub.status == "active" and sub.metadata.to_dict() == {"pledge_id": "p-9"}
    item = sub["items"].data[0]
    assert item.price.unit_amount == 700 and item.price.recurring.interval == "month"
    assert item.current_period_end > item.current_period_start
    invoice = sub.latest_invoice
    assert invoice.status == "paid" and invoice.billing_reason == "subscription_create"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {"pledge_id": "p-9"}
    assert invoice.id == done["invoice"]
    payments = stripe_client.v1.invoice_payments.list(params={"invoice": invoice.id})
    pi = stripe_client.v1.payment_intents.retrieve(
        payments.data[0].payment.payment_intent, params={"expand": ["latest_charge"]}
    )
    assert pi.status == "succeeded" and pi.latest_charge.amount == 700
    with_payments = stripe_client.v1.invoices.retrieve(invoice.id, params={"expand": ["payments"]})
    assert with_payments.payments.data[0].payment.payment_intent == pi.id


def test_setup_session(simulator, stripe_client) -> None:
    customer = stripe_client.v1.customers.create(params={"email": "saver@example.com"})
    session = stripe_client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "eur",
            "customer": customer.id,
            "success_url": "https://news.example/ok",
            "setup_intent_data": {"metadata": {"why": "card update"}},
        }
    )
    assert session.payment_status == "no_payment_required"
    complete(simulator, session.id)
    seti = stripe_client.v1.setup_intents.retrieve(session.setup_intent)
    assert seti.status == "succeeded" and seti.metadata.to_dict() == {"why": "card update"}
    pm = stripe_client.v1.payment_methods.retrieve(seti.payment_method)
    assert pm.customer == customer.id and pm.card.last4 == "4242"


def test_idempotency_replay_and_mismatch(simulator, stripe_client) -> None:
    options = {"idempotency_key": "donate-42"}
    first = payment_session(stripe_client, options=options)
    second = payment_session(stripe_client, options=options)
    assert first.id == second.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(simulator.sim.objects("checkout.session")) == 1
    with pytest.raises(stripe.IdempotencyError) as caught:
        payment_session(stripe_client, amount=5000, options=options)
    assert caught.value.http_status == 400


def test_validation_errors_are_stripe_shaped(stripe_client) -> None:
    with pytest.raises(stripe.InvalidRequestError) as small:
        payment_session(stripe_client, amount=20)
    assert small.value.code == "amount_too_small" and small.value.http_status == 400
    assert small.value.param == "line_items[0][price_data][unit_amount]"
    error = small.value.json_body["error"]
    assert error["type"] == "invalid_request_error" and error["doc_url"]
    with pytest.raises(stripe.InvalidRequestError) as large:
        payment_session(stripe_client, amount=100_000_000)
    assert large.value.code == "amount_too_large"
    with pytest.raises(stripe.InvalidRequestError) as bad_int:
        payment_session(stripe_client, amount="12.5")
    assert bad_int.value.code == "parameter_invalid_integer"
    bad_currency = {
        "line_items": [{"quantity": 1, "price_data": {
            "currency": "xyz", "unit_amount": 1000, "product_data": {"name": "x"}}}]
    }  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError) as currency:
        payment_session(stripe_client, **bad_currency)
    assert currency.value.code == "invalid_currency"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        payment_session(stripe_client, colour="blue")
    assert unknown.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert missing.value.code == "resource_missing" and missing.value.http_status == 404


def test_minimum_depends_on_currency(stripe_client) -> None:
    gbp = {"line_items": [{"quantity": 1, "price_data": {
        "currency": "gbp", "unit_amount": 30, "product_data": {"name": "x"}}}]}  # fmt: skip
    assert payment_session(stripe_client, **gbp).amount_total == 30


def test_bad_api_key(simulator) -> None:
    bad = stripe.StripeClient(
        api_key="pk_live_nope", base_addresses={"api": simulator.url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError) as caught:
        bad.v1.events.list()
    assert caught.value.http_status == 401


def test_expire(simulator, stripe_client, receiver) -> None:
    session = payment_session(stripe_client)
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired" and expired.url is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)
    simulator.flush()
    assert receiver.types() == ["checkout.session.expired"]


def test_list_pagination_and_filters(simulator, stripe_client) -> None:
    ids = [payment_session(stripe_client).id for _ in range(7)]
    page = stripe_client.v1.checkout.sessions.list(params={"limit": 3})
    assert [s.id for s in page.data] == ids[::-1][:3] and page.has_more
    assert page.url == "/v1/checkout/sessions"
    everything = [s.id for s in page.auto_paging_iter()]
    assert everything == ids[::-1]
    before = stripe_client.v1.checkout.sessions.list(params={"limit": 2, "ending_before": ids[2]})
    assert [s.id for s in before.data] == [ids[4], ids[3]]
    done = complete(simulator, ids[0])["session"]
    by_pi = stripe_client.v1.checkout.sessions.list(
        params={"payment_intent": done["payment_intent"]}
    )
    assert [s.id for s in by_pi.data] == [ids[0]]
    created = simulator.sim.get(ids[0])["created"]
    recent = stripe_client.v1.checkout.sessions.list(params={"created": {"gte": created}})
    assert len(recent.data) == 7
    assert stripe_client.v1.checkout.sessions.list(params={"created": {"lt": created}}).data == []
    charges = stripe_client.v1.charges.list(params={"payment_intent": done["payment_intent"]})
    assert len(charges.data) == 1


def test_events_list(simulator, stripe_client) -> None:
    complete(simulator, payment_session(stripe_client).id)
    events = stripe_client.v1.events.list()
    assert [e.type for e in events.data] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
        "customer.created",
    ]
    only = stripe_client.v1.events.list(params={"type": "payment_intent.*"})
    assert {e.type for e in only.data} == {"payment_intent.created", "payment_intent.succeeded"}
    several = stripe_client.v1.events.list(
        params={"types": ["charge.succeeded", "customer.created"]}
    )
    assert len(several.data) == 2
    paged = list(stripe_client.v1.events.list(params={"limit": 2}).auto_paging_iter())
    assert [e.id for e in paged] == [e.id for e in events.data]
    one = stripe_client.v1.events.retrieve(events.data[0].id)
    assert one.data.object.object == "checkout.session"
    assert one.api_version == stripe.api_version


def test_refunds_full_partial_and_over(simulator, stripe_client, receiver) -> None:
    done = complete(simulator, payment_session(stripe_client, amount=3000).id)["session"]
    pi_id = done["payment_intent"]
    partial = stripe_client.v1.refunds.create(
        params={"payment_intent": pi_id, "amount": 1000, "reason": "requested_by_customer"}
    )
    assert partial.status == "succeeded" and partial.amount == 1000
    txn = stripe_client.v1.balance_transactions.retrieve(partial.balance_transaction)
    assert txn.amount == -1000 and txn.type == "refund"
    with pytest.raises(stripe.InvalidRequestError) as over:
        stripe_client.v1.refunds.create(params={"payment_intent": pi_id, "amount": 2500})
    assert over.value.code == "amount_too_large"
    rest = stripe_client.v1.refunds.create(params={"charge": partial.charge})
    assert rest.amount == 2000
    charge = stripe_client.v1.charges.retrieve(partial.charge)
    assert charge.amount_refunded == 3000 and charge.refunded
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create(params={"payment_intent": pi_id})
    assert again.value.code == "charge_already_refunded"
    listed = stripe_client.v1.refunds.list(params={"payment_intent": pi_id})
    assert [r.id for r in listed.data] == [rest.id, partial.id]
    simulator.flush()
    refunded = receiver.of_type("charge.refunded")
    assert [e["data"]["object"]["amount_refunded"] for e in refunded] in (
        [1000, 3000],
        [3000, 1000],
    )
    assert receiver.types().count("refund.created") == 2


def test_subscription_modify_amount_and_interval(simulator, stripe_client, receiver) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    sub = stripe_client.v1.subscriptions.retrieve(sub_id)
    item = sub["items"].data[0]
    product = item.price.product
    period_end = item.current_period_end
    updated = stripe_client.v1.subscriptions.update(sub_id, params={
        "items": [{"id": item.id, "price_data": {
            "currency": "usd", "unit_amount": 1500, "product": product,
            "recurring": {"interval": "month"}}}],
        "proration_behavior": "none",
        "metadata": {"tier": "gold"},
    })  # fmt: skip
    new_item = updated["items"].data[0]
    assert new_item.price.unit_amount == 1500 and new_item.current_period_end == period_end
    assert updated.metadata.to_dict() == {"pledge_id": "p-9", "tier": "gold"}
    assert updated.latest_invoice == sub.latest_invoice  # no proration invoice
    yearly = stripe_client.v1.subscriptions.update(sub_id, params={
        "items": [{"id": item.id, "price_data": {
            "currency": "usd", "unit_amount": 12000, "product": product,
            "recurring": {"interval": "year"}}}],
        "proration_behavior": "none",
    })  # fmt: skip
    assert yearly["items"].data[0].price.recurring.interval == "year"
    assert yearly.latest_invoice != sub.latest_invoice
    invoice = stripe_client.v1.invoices.retrieve(yearly.latest_invoice)
    assert (invoice.billing_reason, invoice.status, invoice.amount_paid) == (
        "subscription_update", "paid", 12000,
    )  # fmt: skip
    simulator.flush()
    first_update = receiver.of_type("customer.subscription.updated")[0]
    previous = first_update["data"]["previous_attributes"]
    assert previous["metadata"] == {"tier": None}
    assert "items" in previous


def test_subscription_pause_resume_collection_and_cancel(
    simulator, stripe_client, receiver
) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    resumes = simulator.sim.now() + 60 * 86400
    paused = stripe_client.v1.subscriptions.update(
        sub_id, params={"pause_collection": {"behavior": "void", "resumes_at": resumes}}
    )
    assert paused.pause_collection.behavior == "void" and paused.status == "active"
    resumed = stripe_client.v1.subscriptions.update(sub_id, params={"pause_collection": ""})
    assert resumed.pause_collection is None
    ending = stripe_client.v1.subscriptions.update(sub_id, params={
        "cancel_at_period_end": True, "cancellation_details": {"comment": "moving abroad"},
    })  # fmt: skip
    assert ending.cancel_at_period_end and ending.cancel_at
    assert ending.cancellation_details.comment == "moving abroad"
    canceled = stripe_client.v1.subscriptions.cancel(
        sub_id, params={"cancellation_details": {"comment": "changed my mind"}}
    )
    assert canceled.status == "canceled" and canceled.ended_at and canceled.canceled_at
    assert canceled.cancellation_details.comment == "changed my mind"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": False})
    assert stripe_client.v1.subscriptions.list().data == []
    assert [s.id for s in stripe_client.v1.subscriptions.list(params={"status": "all"}).data] == [
        sub_id
    ]
    simulator.flush()
    assert receiver.types().count("customer.subscription.updated") == 3
    assert receiver.of_type("customer.subscription.deleted")[0]["data"]["object"]["id"] == sub_id


def test_subscription_status_pause_and_resume(simulator, stripe_client, receiver) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.subscriptions.resume(sub_id)
    status, body = control(simulator, f"/_sim/subscriptions/{sub_id}/pause")
    assert status == 200 and body["status"] == "paused"
    resumed = stripe_client.v1.subscriptions.resume(sub_id)
    assert resumed.status == "active"
    simulator.flush()
    types = receiver.types()
    assert "customer.subscription.paused" in types and "customer.subscription.resumed" in types


def test_customers_and_portal(simulator, stripe_client, receiver) -> None:
    customer = stripe_client.v1.customers.create(
        params={"email": "a@example.com", "name": "A", "metadata": {"account": "7"}}
    )
    assert customer.id.startswith("cus_")
    changed = stripe_client.v1.customers.update(customer.id, params={"email": "b@example.com"})
    assert changed.email == "b@example.com"
    portal = stripe_client.v1.billing_portal.sessions.create(
        params={"customer": customer.id, "return_url": "https://news.example/account"}
    )
    assert portal.url == f"{simulator.url}/p/session/{portal.id}"
    assert portal.return_url == "https://news.example/account"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.billing_portal.sessions.create(params={"customer": "cus_missing"})
    simulator.flush()
    updated = receiver.of_type("customer.updated")[0]
    assert updated["data"]["previous_attributes"] == {"email": "a@example.com"}


def test_delete_customer_cancels_subscriptions(simulator, stripe_client) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    customer_id = simulator.sim.get(sub_id)["customer"]
    deleted = stripe_client.v1.customers.delete(customer_id)
    assert deleted.deleted is True
    assert stripe_client.v1.subscriptions.retrieve(sub_id).status == "canceled"


def test_global_api_base_works_too(simulator, stripe_client) -> None:
    session = payment_session(stripe_client)
    old_base, old_key = stripe.api_base, stripe.api_key
    stripe.api_base, stripe.api_key = simulator.url, "sk_test_global"
    try:
        assert stripe.checkout.Session.retrieve(session.id).id == session.id
    finally:
        stripe.api_base, stripe.api_key = old_base, old_key


def test_outage_fault_answers_503(simulator, stripe_client) -> None:
    control(simulator, "/_sim/faults", down=True)
    with pytest.raises(stripe.APIError) as caught:
        stripe_client.v1.events.list()
    assert caught.value.http_status == 503
    control(simulator, "/_sim/faults", method="DELETE")
    assert stripe_client.v1.events.list().data == []


def test_expires_at_window(simulator, stripe_client) -> None:
    now = int(time.time())
    session = payment_session(stripe_client, expires_at=now + 1800)
    assert session.expires_at == now + 1800
    for bad in (now + 60, now + 3 * 86400, (now + 3600) * 1000):
        with pytest.raises(stripe.InvalidRequestError) as caught:
            payment_session(stripe_client, expires_at=bad)
        assert caught.value.param == "expires_at"
    # The caller's clock knows nothing of simulated time: still accepted after an advance.
    control(simulator, "/_sim/clock/advance", seconds=40 * 86400)
    assert payment_session(stripe_client, expires_at=int(time.time()) + 1800).status == "open"


def test_invoice_payment_lookup_by_payment_intent(simulator, stripe_client) -> None:
    sub_id = paid_subscription(simulator, stripe_client)
    invoice_id = simulator.sim.get(sub_id)["latest_invoice"]
    payment = stripe_client.v1.invoice_payments.list(params={"invoice": invoice_id}).data[0]
    pi_id = payment.payment.payment_intent
    found = stripe_client.v1.invoice_payments.list(
        params={"payment": {"type": "payment_intent", "payment_intent": pi_id}, "limit": 1}
    )
    assert [p.invoice for p in found.data] == [invoice_id]
    assert found.data[0].status == "paid" and found.data[0].amount_paid == 500
