"""PayPal IPN: verified messages book once, everything else stores nothing."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Pledge
from tests.channels.conftest import FORM, post_ipn, rows
from tests.helpers import wait_for


def test_verified_donation_counts_once_with_its_channel(app, client, campaign, paypal):
    message = paypal.sim.donation("25.00", "EUR", email="Reader@Example.org", campaign=campaign)
    body = paypal.sim.encode(message)
    paypal.sim.sent.add(body)  # sent by "PayPal", delivered here by hand
    first = post_ipn(client, body)
    again = post_ipn(client, body)
    assert (first.status_code, first.data, again.status_code) == (200, b"", 200)
    with app.app_context():
        [entry] = rows("paypal")
        assert entry.external_id == message["txn_id"]
        assert entry.stripe_ref == f"paypal:{message['txn_id']}"
        assert (entry.kind, entry.amount_minor, entry.currency) == ("payment", 2500, "EUR")
        assert (message["mc_fee"], entry.fee_minor) == ("1.02", 102)  # 2.9% + 0.30
        assert entry.donor_email == "reader@example.org"
        assert entry.donor_name == "Test Donor"
        assert entry.occurred_at.year >= 2026
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["by_channel"] == {"paypal": {"EUR": 2500}}
    assert totals["raised_minor"] == 2500 and totals["supporters"] == 1


def _deliver(paypal, message) -> None:
    paypal.sim.send(message)  # through the live app, retried until it answers 200


def test_pending_books_nothing_until_completed(app, campaign, paypal):
    pending = paypal.sim.donation("10.00", campaign=campaign, status="Pending")
    _deliver(paypal, pending)
    with app.app_context():
        assert rows("paypal") == []
    _deliver(paypal, {**pending, "payment_status": "Completed", "ipn_track_id": "second"})
    _deliver(paypal, {**pending, "payment_status": "Completed", "ipn_track_id": "third"})
    with app.app_context():
        assert [e.amount_minor for e in rows("paypal")] == [1000]


def test_refund_reversal_and_canceled_reversal_book_signed_rows(app, client, campaign, paypal):
    payment = paypal.sim.donation("40.00", "GBP", campaign=campaign)
    refund = paypal.sim.refund(payment, "15.00")
    reversal = paypal.sim.reversal(payment)
    reinstated = paypal.sim.canceled_reversal(payment)
    for message in (refund, payment, reversal, reinstated, refund):  # any order, replayed
        _deliver(paypal, message)
    with app.app_context():
        booked = {(e.kind, e.amount_minor, e.payment_ref) for e in rows("paypal")}
    parent = f"paypal:{payment['txn_id']}"
    assert booked == {
        ("payment", 4000, parent),
        ("refund", -1500, parent),
        ("dispute_opened", -4000, parent),
        ("dispute_won", 4000, parent),
    }
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["by_channel"]["paypal"] == {"GBP": 2500}


def test_subscription_messages_mirror_a_paypal_pledge(app, campaign, paypal):
    signup = paypal.sim.subscription("5.00", "EUR", email="patron@example.org", campaign=campaign)
    payment = paypal.sim.subscription_payment(signup)
    for message in (payment, signup, payment):  # the payment may come first
        _deliver(paypal, message)
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert (pledge.channel, pledge.status, pledge.amount_minor) == ("paypal", "active", 500)
        assert pledge.stripe_subscription_id == f"paypal:{signup['subscr_id']}"
        [entry] = rows("paypal")
        assert (entry.frequency, entry.pledge_id, entry.amount_minor) == ("monthly", pledge.id, 500)
    _deliver(paypal, paypal.sim.subscription_end(signup, "subscr_cancel"))
    _deliver(paypal, {**signup, "ipn_track_id": "late-replay"})  # a late signup revives nothing
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert (pledge.status, pledge.cancel_reason) == ("cancelled", "subscr_cancel")


def test_other_currency_counts_in_its_own_currency(app, client, campaign, paypal):
    _deliver(paypal, paypal.sim.donation("1500", "JPY", campaign=campaign))
    _deliver(paypal, paypal.sim.donation("12.34", "USD", campaign="no-such-campaign"))
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    # An unknown slug books on the default campaign (the seed article here).
    assert totals["by_channel"]["paypal"] == {"JPY": 1500, "USD": 1234}


def test_message_paypal_did_not_send_stores_nothing(app, client, campaign, paypal):
    forged = paypal.sim.encode(paypal.sim.donation("99.00", campaign=campaign))
    response = post_ipn(client, forged)
    assert (response.status_code, response.data) == (200, b"")
    altered = paypal.sim.donation("1.00", campaign=campaign)
    paypal.sim.sent.add(paypal.sim.encode(altered))
    response = post_ipn(client, paypal.sim.encode({**altered, "mc_gross": "1000.00"}))
    assert response.status_code == 200
    with app.app_context():
        assert rows() == []
        assert db.session.scalar(select(AuditEntry)) is None


def test_receiver_mismatch_stores_nothing(app, client, campaign, paypal):
    message = paypal.sim.donation("20.00", campaign=campaign)
    for field in ({"receiver_email": "someone@else.test", "business": "someone@else.test"},):
        _deliver(paypal, {**message, **field})
    with app.app_context():
        assert rows() == []
    app.config["PAYPAL_RECEIVER_ID"] = paypal.sim.receiver_id
    try:  # the account's id alone is enough when it is configured
        _deliver(paypal, {**message, "receiver_email": "alias@else.test", "business": ""})
    finally:
        app.config["PAYPAL_RECEIVER_ID"] = None
    with app.app_context():
        assert len(rows("paypal")) == 1


def test_unreachable_verification_stores_nothing_and_paypal_retries(app, campaign, paypal):
    app.config["PAYPAL_IPN_VERIFY_URL"] = "http://127.0.0.1:9/cgi-bin/webscr"  # nobody there
    body = paypal.sim.send(paypal.sim.donation("30.00", campaign=campaign), wait=False)
    wait_for(lambda: any(outcome == "503" for _, outcome in paypal.sim.attempts))
    with app.app_context():
        assert rows() == []
    app.config["PAYPAL_IPN_VERIFY_URL"] = paypal.verify_url  # PayPal's next try gets through
    assert paypal.sim.flush(30)
    outcomes = [outcome for sent, outcome in paypal.sim.attempts if sent == body]
    assert outcomes[0] == "503" and outcomes[-1] == "200"
    with app.app_context():
        assert [e.amount_minor for e in rows("paypal")] == [3000]


def test_verification_answered_invalid_stores_nothing(app, client, campaign, paypal):
    app.config["PAYPAL_IPN_VERIFY_URL"] = f"{paypal.url}/not-the-verifier"  # 404: not VERIFIED
    _deliver(paypal, paypal.sim.donation("30.00", campaign=campaign))
    with app.app_context():
        assert rows() == []


def test_hostile_bodies_are_never_a_server_error(app, client, campaign, paypal):
    sent_odd = paypal.sim.donation("7.00", campaign=campaign, name="Zoë Ðoe")
    sent_odd["charset"] = "windows-1252"
    _deliver(paypal, sent_odd)
    bodies = [
        b"",
        b"\xff\xfe\x00junk",
        b"charset=no-such-charset&txn_id=1",
        b"txn_id=%00&payment_status=Completed",
        b"mc_gross=%E9%E9&charset=utf-8",
        b"a=" + b"x" * 300_000,
        b"&".join(b"f%d=1" % i for i in range(2000)),
    ]
    for body in bodies:
        assert post_ipn(client, body).status_code < 500
    with app.app_context():
        [entry] = rows()
        assert entry.donor_name == "Zoë Ðoe"  # read in the charset the message names


def test_same_message_delivered_concurrently_counts_once(app, live_server, campaign, paypal):
    message = paypal.sim.donation("11.00", campaign=campaign)
    body = paypal.sim.encode(message)
    paypal.sim.sent.add(body)
    statuses = []

    def deliver():
        request = urllib.request.Request(
            f"{live_server.url}/paypal/ipn", data=body, headers={"Content-Type": FORM}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            statuses.append(response.status)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    with app.app_context():
        assert [e.amount_minor for e in rows("paypal")] == [1100]


def test_out_paypal_leads_to_the_stand_in_in_demo_mode(app, client, campaign, paypal):
    app.config.update(PAYPAL_DEMO_MODE=True, PAYPAL_SIMULATOR_URL=paypal.url)
    try:
        location = client.get(f"/out/paypal?campaign={campaign}").headers["Location"]
    finally:
        app.config["PAYPAL_DEMO_MODE"] = False
    assert location == f"{paypal.url}/donate?campaign={campaign}"
    page = urllib.request.urlopen(location, timeout=10).read().decode()
    assert 'name="amount"' in page and campaign in page
    form = urllib.parse.urlencode(
        {"campaign": campaign, "amount": "12.00", "currency": "EUR", "email": "a@example.org"}
    ).encode()
    urllib.request.urlopen(f"{paypal.url}/donate", data=form, timeout=10)
    wait_for(lambda: paypal.sim.flush(0.1) and any(o == "200" for _, o in paypal.sim.attempts))
    with app.app_context():
        [entry] = rows("paypal")
        assert (entry.amount_minor, entry.donor_email) == (1200, "a@example.org")
