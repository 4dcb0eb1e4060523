"""Stories about a supporter changing their own regular gift, carried out at Stripe (the
simulator) and confirmed back by its webhooks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, LedgerEntry, Pledge, Supporter
from tests.accounts.conftest import PASSWORD, login, register_and_verify, submit
from tests.helpers import donate, pay, session_id_from, stripe_client, wait_for

EMAIL = "monthly@example.org"


@pytest.fixture
def patron(app, client, campaign, stripe_sim, mailbox):
    """A verified supporter, signed in, giving €10 a month; returns the pledge id."""
    register_and_verify(client, mailbox, EMAIL)
    login(client, EMAIL)
    response = donate(
        client, campaign, amount="other", amount_other="10", frequency="monthly", email=EMAIL
    )
    pay(stripe_sim, session_id_from(response))
    with app.app_context():
        pledge = wait_for(lambda: db.session.scalar(select(Pledge).filter_by(status="active")))
        return pledge.id


def _pledge(app, pledge_id: int) -> Pledge:
    with app.app_context():
        pledge = db.session.get(Pledge, pledge_id)
        db.session.expunge(pledge)
        return pledge


def _stripe_subscription(stripe_sim, app, pledge_id: int):
    sub_id = _pledge(app, pledge_id).stripe_subscription_id
    return stripe_client(stripe_sim).v1.subscriptions.retrieve(sub_id)


def _act(client, pledge_id: int, action: str, data: dict | None = None):
    page = f"/account/pledges/{pledge_id}"
    return submit(client, page, data or {}, action=f"{page}/{action}", follow_redirects=True)


def test_patron_sees_their_new_monthly_pledge_and_first_payment(client, patron):
    page = client.get("/account").get_data(as_text=True)
    assert "€10.00</strong> every month" in page
    assert "Recurring" in page and "next payment" in page


def test_patron_can_lower_pause_resume_and_cancel_their_pledge(
    app, client, patron, stripe_sim, mailbox
):
    lowered = _act(client, patron, "amount", {"amount": "5"})
    assert "from your next payment" in lowered.get_data(as_text=True)
    assert _pledge(app, patron).amount_minor == 500
    subscription = _stripe_subscription(stripe_sim, app, patron)
    assert subscription["items"]["data"][0]["price"]["unit_amount"] == 500
    stripe_sim.flush(timeout=15)
    assert _pledge(app, patron).amount_minor == 500  # the webhook agreed
    assert "€5.00 monthly" in mailbox.text(mailbox.last(EMAIL))

    paused = _act(client, patron, "pause", {"months": "2"})
    assert "Your pledge is paused" in paused.get_data(as_text=True)
    stripe_sim.flush(timeout=15)
    pledge = _pledge(app, patron)
    assert pledge.status == "paused" and pledge.paused_until is not None
    assert "Resume my gift" in client.get(f"/account/pledges/{patron}").get_data(as_text=True)

    resumed = _act(client, patron, "resume")
    assert "running again" in resumed.get_data(as_text=True)
    stripe_sim.flush(timeout=15)
    assert _pledge(app, patron).status == "active"

    asked = _act(client, patron, "cancel", {"reason": "Moving abroad"})
    assert "Cancel your regular gift?" in asked.get_data(as_text=True)
    assert _pledge(app, patron).status == "active"  # nothing happens before the second step
    cancelled = _act(client, patron, "cancel", {"reason": "Moving abroad", "confirmed": "yes"})
    assert "Your pledge is cancelled" in cancelled.get_data(as_text=True)
    stripe_sim.flush(timeout=15)
    pledge = _pledge(app, patron)
    assert pledge.status == "cancelled"
    assert _stripe_subscription(stripe_sim, app, patron)["status"] == "canceled"
    cancelled_mail = [
        m for m in mailbox.messages(EMAIL) if m["Subject"] == "Your regular gift has been cancelled"
    ]
    assert cancelled_mail and "Moving abroad" in mailbox.text(cancelled_mail[-1])
    with app.app_context():
        actors = set(db.session.scalars(select(AuditEntry.actor)))
        supporter = db.session.scalar(select(Supporter).filter_by(email=EMAIL))
        assert f"supporter:{supporter.id}" in actors


def test_patron_switches_to_yearly_giving(app, client, patron, stripe_sim):
    response = _act(client, patron, "interval", {"interval": "year"})
    assert "How often you give has been changed" in response.get_data(as_text=True)
    stripe_sim.flush(timeout=15)
    assert _pledge(app, patron).interval == "year"
    page = client.get("/account").get_data(as_text=True)
    assert "every year" in page


def test_bad_amounts_are_explained_not_sent(app, client, patron):
    for typed, message in [
        ("abc", "as a number"),
        ("0.10", "smallest gift"),
        ("", "enter an amount"),
    ]:
        response = _act(client, patron, "amount", {"amount": typed})
        assert message in response.get_data(as_text=True)
    assert _pledge(app, patron).amount_minor == 1000


def test_stripe_being_down_is_explained_and_nothing_changes(app, client, patron, stripe_sim):
    stripe_sim.sim.faults.update({"down": True})
    try:
        response = _act(client, patron, "amount", {"amount": "7"})
    finally:
        stripe_sim.sim.faults.reset()
    assert response.status_code == 200
    assert "Payments are briefly unavailable, please try again" in response.get_data(as_text=True)
    assert _pledge(app, patron).amount_minor == 1000


def test_update_card_goes_to_stripes_billing_portal(app, client, patron, stripe_sim):
    response = submit(client, f"/account/pledges/{patron}/card")
    assert response.status_code == 303
    assert response.location.startswith(stripe_sim.url)


def test_deleting_the_account_cancels_the_pledge_and_keeps_the_books(
    app, client, patron, stripe_sim
):
    response = submit(client, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    stripe_sim.flush(timeout=15)
    assert _stripe_subscription(stripe_sim, app, patron)["status"] == "canceled"
    with app.app_context():
        pledge = db.session.get(Pledge, patron)
        assert pledge.status == "cancelled" and pledge.email is None
        rows = list(db.session.scalars(select(LedgerEntry)))
        assert rows and all(r.donor_email is None for r in rows)
        assert all(r.amount_minor == 1000 and r.stripe_ref for r in rows)


def test_account_is_not_deleted_while_stripe_is_down(app, client, patron, stripe_sim):
    stripe_sim.sim.faults.update({"down": True})
    try:
        response = submit(
            client,
            "/account/delete",
            {"password": PASSWORD, "confirm": "y"},
            follow_redirects=True,
        )
    finally:
        stripe_sim.sim.faults.reset()
    assert "Your account was not deleted" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Supporter).filter_by(email=EMAIL)) is not None
        assert db.session.get(Pledge, patron).status == "active"
