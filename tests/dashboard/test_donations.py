"""Staff find a donation by filter or Stripe id, open it, and refund it or cancel its pledge."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from flask import url_for
from markupsafe import escape
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, EntryKind, LedgerEntry, Pledge, Supporter, utcnow
from fundraiser.money import format_money
from tests.dashboard import factories as f
from tests.dashboard.conftest import csrf_token, sign_in
from tests.helpers import donate, pay, session_id_from, wait_for


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def donations(app):
    """A handful of payments in two campaigns, in every status."""
    with app.app_context():
        euro = f.make_campaign("euro-appeal", "EUR")
        pound = f.make_campaign("pound-appeal", "GBP")
        monthly = f.pledge(euro, 1500, email="pat@example.org")
        paid = f.payment(euro, 2500, email="ann@example.org", name="Ann Example")
        partly = f.payment(euro, 4000, email="bob@example.org")
        f.refund(partly, 1000)
        whole = f.payment(pound, 1200, email="cat@example.org")
        f.refund(whole, 1200)
        disputed = f.payment(euro, 9900, email="dan@example.org")
        f.movement(disputed, EntryKind.DISPUTE_OPENED, -9900)
        recurring = f.payment(
            euro, 1500, frequency="monthly", pledge=monthly, email="pat@example.org",
            occurred_at=utcnow() - timedelta(days=40),
        )  # fmt: skip
        return {
            "paid": paid.payment_ref,
            "partly": partly.payment_ref,
            "whole": whole.payment_ref,
            "disputed": disputed.payment_ref,
            "recurring": recurring.payment_ref,
            "charge": partly.charge_id,
            "subscription": monthly.stripe_subscription_id,
        }


def listed(client, query: str = "") -> list[str]:
    page = client.get(f"/staff/donations{query}")
    assert page.status_code == 200, text_of(page)[:500]
    body = page.get_data(as_text=True)
    return sorted(set(part.split('"')[0] for part in body.split('href="/staff/donations/')[1:]))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["disputed", "paid", "partly", "recurring", "whole"]),
        ("?status=paid", ["paid", "recurring"]),
        ("?status=partially_refunded", ["partly"]),
        ("?status=refunded", ["whole"]),
        ("?status=disputed", ["disputed"]),
        ("?frequency=monthly", ["recurring"]),
        ("?campaign=pound-appeal", ["whole"]),
        ("?currency=GBP", ["whole"]),
        ("?amount_min=25&amount_max=40", ["paid", "partly"]),
        ("?amount_min=99", ["disputed"]),
        ("?q=ann%40example", ["paid"]),
        ("?q=ann+example", ["paid"]),
    ],
)
def test_staff_filter_the_donations_table(staff_client, donations, query, expected):
    assert listed(staff_client("viewer"), query) == sorted(donations[key] for key in expected)


def test_a_filtered_page_leaves_the_next_one_unfiltered(staff_client, donations):
    """The query is built once per process and each filter narrows a copy of it."""
    client = staff_client("viewer")
    assert listed(client, "?status=refunded&currency=GBP") == [donations["whole"]]
    assert len(listed(client)) == 5


def test_search_finds_a_donation_by_any_of_its_stripe_ids(staff_client, donations):
    client = staff_client("viewer")
    assert listed(client, f"?q={donations['charge']}") == [donations["partly"]]
    assert listed(client, f"?q={donations['subscription']}") == [donations["recurring"]]
    assert listed(client, f"?q={donations['disputed']}") == [donations["disputed"]]


def test_date_filter_uses_reporting_days(staff_client, donations):
    today = utcnow().date()
    recent = listed(staff_client("viewer"), f"?date_from={today - timedelta(days=2)}")
    assert donations["recurring"] not in recent and donations["paid"] in recent


def test_each_row_links_and_shows_its_amounts_as_url_for_and_the_money_filter_would(
    app, staff_client, donations
):
    """The table works links, badges and amounts out once per page, not through the template's
    url_for and filters: the same text, for a Stripe id that needs quoting too."""
    with app.app_context():
        odd = f.payment(
            f.make_campaign("yen-appeal", "JPY"), 5000, payment_ref="pi odd/ref?&é%x",
            stripe_ref="pi odd/ref?&é%x",
        )  # fmt: skip
        partly = db.session.scalar(
            select(LedgerEntry).where(LedgerEntry.payment_ref == donations["partly"])
        )
        refs, partly_amount = [odd.payment_ref, donations["partly"]], partly.amount_minor
    page = staff_client("viewer").get("/staff/donations").get_data(as_text=True)
    with app.test_request_context("/staff/donations"):
        for ref in refs:
            assert f'href="{escape(url_for("dashboard.donation", payment_ref=ref))}"' in page
        partly_row = page.split(url_for("dashboard.donation", payment_ref=donations["partly"]))[1]
        expected = [format_money(partly_amount, "EUR"), format_money(1000, "EUR")]
    cells = partly_row.split("</tr>")[0]
    assert '<span class="badge badge-partially-refunded">partially refunded</span>' in cells
    assert all(f'<td class="num">{text}</td>' in cells for text in expected)
    assert '<td class="num">—</td>' in cells  # no fee cover


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?amount_min=ten", "Enter an amount like 10 or 12.50."),
        ("?date_from=2026-02-30", "Not a valid date value."),
        ("?date_from=2026-03-02&date_to=2026-03-01", "The end date is before the start date."),
        ("?status=lost", "Not a valid choice."),
        ("?page=0", "Pages are numbered from 1."),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error(staff_client, donations, query, message):
    response = staff_client("viewer").get(f"/staff/donations{query}")
    assert response.status_code == 400
    assert message in text_of(response)


def test_the_table_is_paginated(app, staff_client):
    with app.app_context():
        campaign = f.make_campaign()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for n in range(55):
            f.payment(campaign, 100 + n, occurred_at=start + timedelta(hours=n))
    client = staff_client("viewer")
    first = client.get("/staff/donations?campaign=appeal").get_data(as_text=True)
    assert first.count('href="/staff/donations/pi_') == 50
    assert "page=2" in first and "campaign=appeal" in first
    second = client.get("/staff/donations?campaign=appeal&page=2").get_data(as_text=True)
    assert second.count('href="/staff/donations/pi_') == 5


def test_detail_page_shows_every_ledger_entry_and_stripe_id(staff_client, donations):
    page = text_of(staff_client("viewer").get(f"/staff/donations/{donations['partly']}"))
    assert donations["partly"] in page and donations["charge"] in page
    assert "re_dash_" in page and "bob@example.org" in page
    assert "partially refunded" in page
    assert 'data-figure="refunded">€10.00' in page


def test_viewers_see_no_action_buttons(staff_client, donations):
    page = text_of(staff_client("viewer").get(f"/staff/donations/{donations['recurring']}"))
    assert "Refund…" not in page and "Cancel this pledge" not in page
    page = text_of(staff_client("staff").get(f"/staff/donations/{donations['recurring']}"))
    assert "Refund…" in page and "Cancel this pledge" in page


def test_unknown_donation_is_a_404(staff_client):
    assert staff_client("viewer").get("/staff/donations/pi_nope").status_code == 404


def test_refund_asks_for_confirmation_first_and_checks_the_amount(app, staff_client, donations):
    client = staff_client("staff")
    url = f"/staff/donations/{donations['partly']}"
    token = csrf_token(client, url)
    confirm = client.post(
        f"{url}/refund", data={"csrf_token": token, "amount": "12", "reason": "Asked"}
    )
    assert confirm.status_code == 200
    assert "Refund €12.00 to bob@example.org?" in text_of(confirm)
    too_much = client.post(
        f"{url}/refund", data={"csrf_token": token, "amount": "31", "reason": "Asked"}
    )
    assert too_much.status_code == 302
    assert "At most €30.00 can be refunded" in text_of(client.get(url))
    nonsense = client.post(
        f"{url}/refund", data={"csrf_token": token, "amount": "-3", "reason": "x"}
    )
    assert nonsense.status_code == 302
    assert "The amount must be more than zero." in text_of(client.get(url))
    disputed = f"/staff/donations/{donations['disputed']}/refund"
    client.post(
        disputed, data={"csrf_token": token, "amount": "1", "reason": "x", "confirmed": "yes"}
    )
    assert "This payment is disputed" in text_of(
        client.get(f"/staff/donations/{donations['disputed']}")
    )
    with app.app_context():  # nothing went to Stripe, nothing was written
        assert (
            db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.refund")) is None
        )


def _staff_account(app, staff):
    with app.app_context():
        return db.session.get(Supporter, staff.id)


def test_staff_refund_part_of_a_gift_through_stripe_and_see_it_once_confirmed(
    app, campaign, stripe_sim, staff_of
):
    reader = app.test_client()
    pay(stripe_sim, session_id_from(donate(reader, campaign, amount="40", email="r@example.org")))
    with app.app_context():
        payment_ref = wait_for(lambda: db.session.scalar(select(LedgerEntry.payment_ref)))
    staff = staff_of("staff")
    client = app.test_client()
    sign_in(client, staff)
    url = f"/staff/donations/{payment_ref}"
    token = csrf_token(client, url)
    form = {"csrf_token": token, "amount": "15.50", "reason": "Gave twice by mistake"}
    assert client.post(f"{url}/refund", data=form).status_code == 200  # the confirmation page
    done = client.post(f"{url}/refund", data={**form, "confirmed": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == url
    stripe_sim.flush(timeout=15)
    with app.app_context():
        refund_row = wait_for(
            lambda: db.session.scalar(
                select(LedgerEntry).where(LedgerEntry.kind == EntryKind.REFUND.value)
            )
        )
        assert (refund_row.amount_minor, refund_row.payment_ref) == (-1550, payment_ref)
        mine = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff.refund"))
        assert mine.actor == f"staff:{staff.id}" and mine.target == f"payment:{payment_ref}"
        detail = json.loads(mine.detail)
        assert detail["amount_minor"] == 1550 and detail["reason"] == "Gave twice by mistake"
        assert detail["refund_id"] == refund_row.stripe_ref
    page = text_of(client.get(url))
    assert "partially refunded" in page and "waiting for Stripe" not in page
    assert 'data-figure="refunded">€15.50' in page
    audit = text_of(client.get("/staff/audit"))
    assert "staff.refund" in audit and staff.email in audit
    # The figures follow: gross €40, refunds €15.50.
    overview = client.get("/staff/").get_data(as_text=True)
    assert 'data-figure="EUR-all-refunds">-€15.50' in overview


def test_a_refund_waits_for_stripes_confirmation(app, campaign, stripe_sim, staff_of):
    reader = app.test_client()
    pay(stripe_sim, session_id_from(donate(reader, campaign, amount="20")))
    with app.app_context():
        payment_ref = wait_for(lambda: db.session.scalar(select(LedgerEntry.payment_ref)))
    stripe_sim.sim.faults.update({"drop_webhooks": 1000})
    client = app.test_client()
    sign_in(client, staff_of("staff"))
    url = f"/staff/donations/{payment_ref}"
    form = {"csrf_token": csrf_token(client, url), "amount": "20", "reason": "Asked"}
    client.post(f"{url}/refund", data={**form, "confirmed": "yes"})
    page = text_of(client.get(url))
    assert "waiting for Stripe’s confirmation" in page
    assert "Nothing is left to refund" in page  # the pending refund is not offered twice


def test_staff_cancel_a_pledge_with_a_reason(app, client, campaign, stripe_sim, staff_of):
    form = {"amount_other": "10", "frequency": "monthly", "email": "m@example.org"}
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="other", **form)))
    with app.app_context():
        pledge = wait_for(
            lambda: db.session.scalar(select(Pledge).where(Pledge.status == "active"))
        )
        pledge_id = pledge.id
    staff = staff_of("staff")
    staff_browser = app.test_client()
    sign_in(staff_browser, staff)
    back = "/staff/supporters/m@example.org"
    token = csrf_token(staff_browser, back)
    form = {"csrf_token": token, "reason": "Supporter phoned to stop", "back": back}
    confirm = staff_browser.post(f"/staff/pledges/{pledge_id}/cancel", data=form)
    assert "Cancel the €10.00 per month pledge of m@example.org?" in text_of(confirm)
    done = staff_browser.post(
        f"/staff/pledges/{pledge_id}/cancel", data={**form, "confirmed": "yes"}
    )
    assert done.status_code == 302 and done.headers["Location"] == back
    stripe_sim.flush(timeout=15)
    with app.app_context():
        assert db.session.get(Pledge, pledge_id).status == "cancelled"
        mine = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "staff.pledge_cancel")
        )
        assert mine.actor == f"staff:{staff.id}"
        assert json.loads(mine.detail)["reason"] == "Supporter phoned to stop"


def test_supporters_table_shows_giving_pledges_and_consent(app, staff_client, donations):
    with app.app_context():
        db.session.add(Supporter(email="ann@example.org", show_publicly=True))
        db.session.commit()
    client = staff_client("viewer")
    page = text_of(client.get("/staff/supporters"))
    for email in ("ann@example.org", "bob@example.org", "cat@example.org", "pat@example.org"):
        assert email in page
    found = text_of(client.get("/staff/supporters?q=ann"))
    assert "ann@example.org" in found and "bob@example.org" not in found
    ann = text_of(client.get("/staff/supporters/ann@example.org"))
    assert 'data-figure="show-publicly">yes' in ann and "€25.00" in ann
    pat = text_of(client.get("/staff/supporters/pat@example.org"))
    assert donations["subscription"] in pat and "every month" in pat
    assert client.get("/staff/supporters/nobody@example.org").status_code == 404


def test_when_stripe_is_down_the_refund_is_not_made_and_staff_are_told(
    app, staff_client, donations, monkeypatch
):
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens
    client = staff_client("staff")
    url = f"/staff/donations/{donations['paid']}"
    form = {"csrf_token": csrf_token(client, url), "amount": "5", "reason": "Asked"}
    response = client.post(f"{url}/refund", data={**form, "confirmed": "yes"})
    assert response.status_code == 302
    page = text_of(client.get(url))
    assert "Stripe isn't answering right now; nothing was changed." in page
    assert "waiting for Stripe" not in page
