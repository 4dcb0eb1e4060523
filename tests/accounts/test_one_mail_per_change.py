"""One mail per change, whichever message about it lands first: the supporter's own request
(or the thank-you page) and Stripe's webhook race, both ways round."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Pledge
from fundraiser.payments import gateway, pledges
from tests.helpers import donate, pay, session_id_from, stripe_client, wait_for

EMAIL = "first-monthly@example.org"
CHANGED = "Your regular gift has been changed"


@contextlib.contextmanager
def webhooks_held(stripe_sim):
    """Stripe records its events but delivers none until the block ends; then all of them."""
    sim = stripe_sim.sim
    url, already = sim.webhook_url, len(sim.store.events)
    sim.webhook_url = None
    try:
        yield
    finally:
        sim.webhook_url = url
    sim.delivery.submit(list(sim.store.events)[already:])
    stripe_sim.flush(timeout=15)


def _subjects(mailbox) -> list[str]:
    return [message["Subject"] for message in mailbox.messages(EMAIL)]


def _new_monthly_gift(client, campaign, stripe_sim) -> str:
    response = donate(
        client, campaign, amount="other", amount_other="10", frequency="monthly", email=EMAIL
    )
    return session_id_from(response)


@pytest.mark.parametrize("first", ["webhook", "thanks-page"])
def test_new_monthly_supporter_gets_one_welcome_with_the_receipt(
    app, client, campaign, stripe_sim, mailbox, first
):
    session_id = _new_monthly_gift(client, campaign, stripe_sim)
    if first == "webhook":
        pay(stripe_sim, session_id)
        assert client.get(f"/donate/thanks?session_id={session_id}").status_code == 200
    else:
        with webhooks_held(stripe_sim):
            pay(stripe_sim, session_id)
            assert client.get(f"/donate/thanks?session_id={session_id}").status_code == 200
    stripe_sim.flush(timeout=15)
    [subject] = _subjects(mailbox)
    assert subject.startswith("Welcome, and thank you — your receipt")
    assert "regular supporter" in mailbox.text(mailbox.last(EMAIL))


@pytest.fixture
def pledge_id(app, client, campaign, stripe_sim, mailbox) -> int:
    pay(stripe_sim, _new_monthly_gift(client, campaign, stripe_sim))
    with app.app_context():
        pledge = wait_for(lambda: db.session.scalar(select(Pledge).filter_by(status="active")))
    mailbox.clear()
    return pledge.id


def test_account_request_first_then_webhook_sends_one_changed_mail(
    app, stripe_sim, mailbox, pledge_id
):
    with webhooks_held(stripe_sim), app.app_context():
        pledge = db.session.get(Pledge, pledge_id)
        pledges.change_amount(pledge, 500, "supporter:test")
        assert _subjects(mailbox) == [CHANGED]
    # The webhook's customer.subscription.updated then finds the pledge as it is at Stripe.
    with app.app_context():
        assert db.session.get(Pledge, pledge_id).amount_minor == 500
    assert _subjects(mailbox) == [CHANGED]


def test_webhook_first_then_account_request_sends_one_changed_mail(
    app, stripe_sim, mailbox, pledge_id
):
    with app.app_context():
        pledge = db.session.get(Pledge, pledge_id)
        db.session.expunge(pledge)  # the request read the pledge before the webhook landed
        # The request's call to Stripe (same key, same change); Stripe's webhook lands and
        # commits while the request is still waiting for the answer.
        key = pledges._key(pledge, "amount", 500)
        params = pledges._price_change(pledge, 500, pledge.interval)
        gateway.modify_subscription(pledge.stripe_subscription_id, key, **params)
        stripe_sim.flush(timeout=15)
        assert _subjects(mailbox) == [CHANGED]
        # Now the request goes on: Stripe replays its answer and the request mirrors it.
        pledges.change_amount(pledge, 500, "supporter:test")
        assert db.session.get(Pledge, pledge_id).amount_minor == 500
    stripe_sim.flush(timeout=15)
    assert _subjects(mailbox) == [CHANGED]


def test_refunded_donor_gets_a_short_notice_once(app, client, campaign, stripe_sim, mailbox):
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="30", email=EMAIL)))
    with app.app_context():
        payment_intent = wait_for(lambda: db.session.scalar(select(LedgerEntry.payment_ref)))
    stripe_client(stripe_sim).v1.refunds.create(
        params={"payment_intent": payment_intent, "amount": 1200}
    )
    stripe_sim.flush(timeout=15)
    with app.app_context():
        wait_for(lambda: db.session.scalar(select(LedgerEntry).filter_by(kind="refund")))
    for event in stripe_sim.sim.events():  # every refund message again: still one notice
        stripe_sim.sim.delivery.submit([stripe_sim.sim.store.event(event["id"])])
    stripe_sim.flush(timeout=15)
    notices = [m for m in mailbox.messages(EMAIL) if m["Subject"].startswith("Your refund")]
    assert len(notices) == 1
    assert "€12.00" in mailbox.text(notices[0])
