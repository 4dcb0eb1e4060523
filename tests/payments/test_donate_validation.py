"""Bad input on the donation form: a clear message and a 400, never a 500, nothing at Stripe."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent
from tests.helpers import ORIGIN, donate

BAD_FORMS = [
    ({"amount": "other", "amount_other": "-5"}, "more than zero"),
    ({"amount": "other", "amount_other": "NaN"}, "as a number"),
    ({"amount": "other", "amount_other": "1e3"}, "as a number"),
    ({"amount": "other", "amount_other": "12.345"}, "decimal places"),
    ({"amount": "other", "amount_other": "0.20"}, "smallest gift"),
    ({"amount": "other", "amount_other": "10000.01"}, "largest gift"),
    ({"amount": "other", "amount_other": ""}, "enter an amount"),
    ({"amount": "25", "currency": "XYZ"}, "currencies offered"),
    ({"amount": "25", "frequency": "weekly"}, "once, monthly or yearly"),
    ({"amount": "25", "email": "not-an-email"}, "check your email"),
    ({"amount": "25", "message": "x" * 501}, "under 500"),
]


@pytest.mark.parametrize("fields, message", BAD_FORMS)
def test_bad_donation_input_re_renders_the_form_with_a_message(
    app, client, campaign, stripe_sim, fields, message
):
    response = donate(client, campaign, **fields)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html.replace("&#39;", "'")
    assert 'class="donate-form"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert stripe_sim.sim.objects("checkout.session") == []
    with app.app_context():
        assert db.session.scalar(select(func.count(DonationIntent.id))) == 0


def test_unknown_campaign_is_a_400_with_a_reason(client, campaign, stripe_sim):
    response = client.post("/donate", data={"campaign": "nope", "amount": "25"}, headers=ORIGIN)
    assert response.status_code == 400
    assert "That campaign doesn’t exist." in response.get_data(as_text=True)


def test_stripe_down_gives_a_clear_message_and_leaves_nothing_open(
    app, client, campaign, stripe_sim
):
    stripe_sim.sim.faults.update({"down": True})
    response = donate(client, campaign, amount="25")
    stripe_sim.sim.faults.reset()
    assert response.status_code == 503
    assert "Card payments are unavailable right now" in response.get_data(as_text=True)
    assert "PayPal" in response.get_data(as_text=True)
    with app.app_context():
        statuses = list(db.session.scalars(select(DonationIntent.status)))
        assert statuses == ["failed"]
    assert stripe_sim.sim.objects("checkout.session") == []


def test_closed_campaign_takes_no_donations(app, client, campaign, stripe_sim):
    from fundraiser.campaigns.services import campaign_by_slug

    with app.app_context():
        campaign_by_slug(campaign).is_open = False
        db.session.commit()
    response = donate(client, campaign, amount="25")
    assert response.status_code == 400
    assert "This appeal has closed." in response.get_data(as_text=True)
