"""Stripe slow or down: a clear message, nothing half-done, retries that cannot double-create."""

from __future__ import annotations

import time

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent


def test_slow_stripe_times_out_with_a_clear_message_and_retries_reuse_one_session(
    app, campaign, make_stack
):
    stack = make_stack(STRIPE_TIMEOUT_SECONDS=1, STRIPE_MAX_RETRIES=2)
    stack.stripe.sim.faults.update({"latency_ms": 1500})
    form = {"campaign": campaign, "amount": "25", "currency": "EUR"}
    status, _, body = stack.post_form("/donate", form)
    assert status == 503
    assert "Card payments are unavailable right now" in body and "PayPal" in body
    time.sleep(2)  # let the simulator finish the requests we gave up on
    # Three tries (one plus two retries) carried one idempotency key: at most one session.
    assert len(stack.stripe.sim.objects("checkout.session")) <= 1
    with app.app_context():
        assert list(db.session.scalars(select(DonationIntent.status))) == ["failed"]

    stack.stripe.sim.faults.reset()
    status, headers, _ = stack.post_form("/donate", form)
    assert status == 303 and "/c/pay/cs_" in headers["Location"]


def test_stripe_down_then_back(app, campaign, make_stack):
    stack = make_stack()
    stack.stripe.sim.faults.update({"down": True})
    form = {"campaign": campaign, "amount": "10", "currency": "EUR", "frequency": "monthly"}
    assert stack.post_form("/donate", form)[0] == 503
    assert stack.get("/")[0] == 200  # reading the appeal never needs Stripe
    stack.stripe.sim.faults.reset()
    assert stack.post_form("/donate", form)[0] == 303
