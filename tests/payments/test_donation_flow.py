"""A reader donates through the form and Stripe Checkout (the simulator); the books show it once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import DonationIntent, LedgerEntry, Pledge
from tests.helpers import ORIGIN, donate, pay, session_id_from, sim_control, wait_for


def ledger_rows():
    return list(db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))


def test_one_off_donation_lands_once_in_the_ledger_and_totals(app, client, campaign, stripe_sim):
    response = donate(client, campaign, amount="25", email="Reader@Example.org", name="Ann")
    assert response.status_code == 303
    session_id = session_id_from(response)
    result = pay(stripe_sim, session_id)
    assert "/donate/thanks?session_id=" in result["redirect_url"]
    with app.app_context():
        rows = wait_for(ledger_rows)
        assert len(rows) == 1
        entry = rows[0]
        assert (entry.kind, entry.amount_minor, entry.currency) == ("payment", 2500, "EUR")
        assert entry.frequency == "one-time"
        assert entry.donor_email == "reader@example.org"
        assert entry.fee_minor is not None and 0 < entry.fee_minor < 2500
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["raised_minor"] == 2500 and totals["supporters"] == 1
    thanks = client.get(f"/donate/thanks?session_id={session_id}")
    assert thanks.status_code == 200
    assert "€25.00" in thanks.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 1


def test_monthly_donation_creates_an_active_pledge_and_one_payment(
    app, client, campaign, stripe_sim
):
    response = donate(
        client,
        campaign,
        amount="other",
        amount_other="10",
        frequency="monthly",
        email="patron@example.org",
    )
    session_id = session_id_from(response)
    pay(stripe_sim, session_id)
    with app.app_context():
        pledge = wait_for(lambda: db.session.scalar(select(Pledge)))
        wait_for(lambda: pledge.status == "active" or db.session.refresh(pledge))
        assert (pledge.amount_minor, pledge.interval, pledge.currency) == (1000, "month", "EUR")
        assert pledge.email == "patron@example.org"
        assert pledge.next_payment_at is not None
        rows = wait_for(ledger_rows)
        assert [(r.kind, r.amount_minor, r.frequency) for r in rows] == [
            ("payment", 1000, "monthly")
        ]
        assert rows[0].pledge_id == pledge.id


def test_thank_you_page_confirms_from_stripe_when_the_webhook_is_lost(
    app, client, campaign, stripe_sim
):
    stripe_sim.sim.faults.update({"drop_webhooks": 1000})
    session_id = session_id_from(donate(client, campaign, amount="50"))
    pay(stripe_sim, session_id)
    with app.app_context():
        assert ledger_rows() == []
    for _ in range(2):  # a reload must not count it twice
        page = client.get(f"/donate/thanks?session_id={session_id}")
        assert page.status_code == 200 and "Your payment has been received" in page.get_data(
            as_text=True
        )
    with app.app_context():
        assert [r.amount_minor for r in ledger_rows()] == [5000]


def test_double_click_creates_one_checkout_session(app, client, campaign, stripe_sim):
    # Both clicks carry the nonce donate.js put in the page when it loaded.
    nonce = {"submission_nonce": "n0nce-made-by-the-pages-script"}
    first = donate(client, campaign, amount="25", email="twice@example.org", **nonce)
    second = donate(client, campaign, amount="25", email="twice@example.org", **nonce)
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(DonationIntent.id))) == 1
    sessions = stripe_sim.sim.objects("checkout.session")
    assert len(sessions) == 1


def test_cover_fees_adds_the_estimated_fee(app, client, campaign, stripe_sim):
    response = donate(client, campaign, amount="25", cover_fees="1")
    session = stripe_sim.sim.get(session_id_from(response))
    assert session["amount_total"] > 2500
    pay(stripe_sim, session["id"])
    with app.app_context():
        entry = wait_for(ledger_rows)[0]
        assert entry.amount_minor - entry.fee_minor >= 2500


def test_cancelled_checkout_brings_the_reader_back_with_choices_kept(
    app, client, campaign, stripe_sim
):
    response = donate(
        client,
        campaign,
        amount="other",
        amount_other="12.50",
        frequency="monthly",
        email="back@example.org",
    )
    session = stripe_sim.sim.get(session_id_from(response))
    page = client.get(session["cancel_url"].replace("http://localhost", ""))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="12.50"' in html and 'value="back@example.org"' in html
    assert 'id="freq-monthly" name="frequency" value="monthly" checked' in html


def test_declined_card_counts_nothing(app, client, campaign, stripe_sim):
    session_id = session_id_from(donate(client, campaign, amount="25"))
    result = pay(stripe_sim, session_id, card="4000000000000002")
    assert result["status"] == 402
    with app.app_context():
        assert ledger_rows() == []


def test_expired_session_counts_nothing(app, client, campaign, stripe_sim):
    session_id = session_id_from(donate(client, campaign, amount="25"))
    import stripe as stripe_lib

    stripe_lib.StripeClient(
        "sk_test_x", base_addresses={"api": stripe_sim.url}
    ).v1.checkout.sessions.expire(session_id)
    stripe_sim.flush()
    with app.app_context():
        intent = wait_for(
            lambda: db.session.scalar(
                select(DonationIntent).where(DonationIntent.status == "expired")
            )
        )
        assert intent.checkout_session_id == session_id
        assert ledger_rows() == []


def test_cross_site_post_to_donate_is_refused(client, campaign):
    response = client.post(
        "/donate",
        data={"campaign": campaign, "amount": "25", "currency": "EUR"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    response = client.post(
        "/donate",
        data={"campaign": campaign, "amount": "25"},
        headers={"Sec-Fetch-Site": "cross-site", **ORIGIN},
    )
    assert response.status_code == 403
    assert client.post("/donate", data={"campaign": campaign, "amount": "25"}).status_code == 403


@pytest.mark.parametrize(
    "result, status, rows", [("succeeded", "paid", 1), ("failed", "failed", 0)]
)
def test_bank_payment_settles_later_and_counts_only_if_it_succeeds(
    app, client, campaign, stripe_sim, result, status, rows
):
    session_id = session_id_from(donate(client, campaign, amount="30"))
    pay(stripe_sim, session_id, **{"async": "1"})
    with app.app_context():
        intent = wait_for(
            lambda: db.session.scalar(
                select(DonationIntent).where(DonationIntent.status == "completed")
            )
        )
        assert ledger_rows() == []
    page = client.get(f"/donate/thanks?session_id={session_id}").get_data(as_text=True)
    assert "still confirming" in page
    sim_control(stripe_sim, f"checkout/{session_id}/async", result=result)
    stripe_sim.flush()
    with app.app_context():
        wait_for(lambda: db.session.get(DonationIntent, intent.id).status == status)
        assert len(ledger_rows()) == rows
