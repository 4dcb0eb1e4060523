"""PayPal and Patreon pledges are mirrors: the account pages point to PayPal or Patreon, and
no change, pause, cancel or card action of ours reaches Stripe for them."""

from __future__ import annotations

import re

import pytest

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Pledge
from tests.accounts.conftest import PASSWORD, add_pledge, csrf_token, login, make_supporter

EMAIL = "elsewhere@example.org"
ACTIONS = {
    "amount": {"amount": "7"},
    "interval": {"interval": "year"},
    "pause": {"months": "1"},
    "resume": {},
    "cancel": {"reason": "moving", "confirmed": "yes"},
    "card": {},
}


def _pledge(app, client, campaign, channel: str, status: str = "active") -> int:
    with app.app_context():
        supporter = make_supporter(EMAIL)
        pledge = add_pledge(campaign, EMAIL, status=status, supporter_id=supporter.id)
        pledge.channel = channel
        pledge.stripe_subscription_id = f"{channel}:I-{status.upper()}"
        db.session.commit()
        pledge_id = pledge.id
    login(client, EMAIL)
    return pledge_id


@pytest.mark.parametrize(
    ("channel", "name", "link"),
    [
        ("paypal", "PayPal", "https://www.paypal.com/myaccount/autopay/"),
        ("patreon", "Patreon", "https://www.patreon.com/settings/memberships"),
    ],
)
def test_the_pages_point_to_the_processor_and_offer_no_buttons(
    app, client, campaign, channel, name, link
):
    pledge_id = _pledge(app, client, campaign, channel)
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    assert f"Managed at {name}" in page and f'href="{link}"' in page
    actions = re.findall(r'<form method="post" action="([^"]+)"', page)
    assert not [a for a in actions if f"/pledges/{pledge_id}/" in a], actions
    for words in ("Change amount", "Pause my gift", "Cancel my gift", "Update the card"):
        assert words not in page
    overview = client.get("/account").get_data(as_text=True)
    assert f"Managed at {name}" in overview and f'href="{link}"' in overview


def test_a_past_due_paypal_pledge_is_not_sent_to_stripes_card_page(app, client, campaign):
    pledge_id = _pledge(app, client, campaign, "paypal", status="past_due")
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    assert "update how you pay at PayPal" in page
    assert f"/account/pledges/{pledge_id}/card" not in page
    overview = client.get("/account").get_data(as_text=True)
    assert f"/account/pledges/{pledge_id}/card" not in overview
    card = client.get(f"/account/pledges/{pledge_id}/card")
    assert card.status_code == 302 and card.headers["Location"].endswith(f"/pledges/{pledge_id}")


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("channel", ["paypal", "patreon"])
def test_posting_an_action_for_a_mirrored_pledge_is_refused(app, client, campaign, channel, action):
    # No Stripe stand-in here: STRIPE_API_BASE points at a closed port, so a call that got
    # through would say "briefly unavailable" instead of naming PayPal or Patreon.
    pledge_id = _pledge(
        app, client, campaign, channel, status="paused" if action == "resume" else "active"
    )
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    token = csrf_token(page)
    response = client.post(
        f"/account/pledges/{pledge_id}/{action}", data={"csrf_token": token, **ACTIONS[action]}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 409, (action, response.status_code)
    assert "change, pause or cancel it there" in text
    assert "briefly unavailable" not in text
    with app.app_context():
        pledge = db.session.get(Pledge, pledge_id)
        assert (pledge.status, pledge.amount_minor, pledge.interval) in {
            ("active", 1000, "month"),
            ("paused", 1000, "month"),
        }
        assert db.session.query(AuditEntry).count() == 0


def test_the_payments_service_refuses_too(app, campaign):
    from fundraiser.accounts import pledge_actions
    from fundraiser.payments import pledge_policy

    with app.app_context():
        supporter = make_supporter(EMAIL)
        pledge = add_pledge(campaign, EMAIL, supporter_id=supporter.id)
        pledge.channel = "paypal"
        assert not pledge_policy.allows("active", "cancel", "paypal")
        assert pledge_policy.allows("active", "cancel", "stripe")
        with pytest.raises(pledge_actions.PledgeActionError, match="managed at PayPal"):
            pledge_actions.cancel(supporter, pledge, "")


def test_deleting_the_account_does_not_wait_on_a_pledge_kept_at_paypal(app, client, campaign):
    # No Stripe stand-in: the PayPal pledge must not be sent there to be cancelled.
    pledge_id = _pledge(app, client, campaign, "paypal")
    page = client.get("/account/delete").get_data(as_text=True)
    assert "cancel it there as well" in page
    response = client.post(
        "/account/delete",
        data={"csrf_token": csrf_token(page), "password": PASSWORD, "confirm": "y"},
    )
    assert response.status_code == 302
    assert not response.headers["Location"].endswith("/account/delete")  # not sent back
    with app.app_context():
        pledge = db.session.get(Pledge, pledge_id)
        assert (pledge.email, pledge.status) == (None, "active")  # PayPal stops it, not us
