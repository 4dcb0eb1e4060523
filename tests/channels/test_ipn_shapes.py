"""IPN messages in the shapes PayPal really posts (checked against public fixtures of IPN
libraries and projects' recorded messages): windows-1252 by default and no charset at all
from PayPal's own IPN simulator, payment_date in Pacific time as PST or PDT, refunds with no
txn_type and negative mc_gross and mc_fee, subscription messages with period3 and
mc_amount3. The bodies below are written out byte for byte, not built by our stand-in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import ChannelNotice, LedgerEntry, Pledge
from fundraiser.paypal.services import paypal_time
from tests.channels.conftest import post_ipn, rows
from tests.dashboard import factories as f

RECEIVER = b"receiver_email=donations%40paypal-simulator.test&receiver_id=SIMRECEIVER01"

# A Donate button's payment, as PayPal posts it with the account's default charset: the
# name's "ö" is the single windows-1252 byte F6; "custom" holds whatever the button sent.
WEB_ACCEPT_1252 = (
    b"mc_gross=10.00&protection_eligibility=Ineligible&payer_id=BN5JZ2V7MLEV4&tax=0.00"
    b"&payment_date=23%3A04%3A06+Feb+02%2C+2009+PST&payment_status=Completed"
    b"&charset=windows-1252&first_name=J%F6rg&mc_fee=0.59&notify_version=3.8"
    b"&custom=website_id%3D13%26user_id%3D21&payer_status=verified&quantity=1"
    b"&verify_sign=An5ns1Kso7MWUdW4ErQKJJJ4qi4-AqdZy6dD.sGO3sDhTf1wAbuO2IZ7"
    b"&payer_email=buyer_1233269544_per%40example.com&txn_id=51403485VH153354B"
    b"&payment_type=instant&last_name=User&" + RECEIVER + b"&payment_fee=0.59"
    b"&txn_type=web_accept&item_name=Donation&mc_currency=USD&item_number="
    b"&residence_country=US&test_ipn=1&handling_amount=0.00&transaction_subject="
    b"&payment_gross=10.00&shipping=0.00&ipn_track_id=a48170aadb705"
)


def _deliver(paypal, client, body: bytes):
    """Post the body as PayPal would; the stand-in's verifier vouches for it."""
    paypal.sim.sent.add(body)
    response = post_ipn(client, body)
    assert (response.status_code, response.data) == (200, b"")
    return response


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("23:04:06 Feb 02, 2009 PST", datetime(2009, 2, 3, 7, 4, 6, tzinfo=UTC)),
        ("20:12:59 Jan 13, 2009 PST", datetime(2009, 1, 14, 4, 12, 59, tzinfo=UTC)),
        ("03:06:57 Jun 27, 2014 PDT", datetime(2014, 6, 27, 10, 6, 57, tzinfo=UTC)),
        # The night the clocks go back: the zone PayPal writes decides which 01:13 it was.
        ("01:13:05 Nov 01, 2015 PDT", datetime(2015, 11, 1, 8, 13, 5, tzinfo=UTC)),
        ("01:13:05 Nov 01, 2015 PST", datetime(2015, 11, 1, 9, 13, 5, tzinfo=UTC)),
        ("9:05:01 Mar 5, 2020 PST", datetime(2020, 3, 5, 17, 5, 1, tzinfo=UTC)),
        ("01:21:32 Jan 25th 2015 PDT", None),
        ("01:21:32 Jan 49, 2015 PDT", None),
        ("2015-10-25 01:21:32", None),
        ("01:28 Jan 25 2015 PDT", None),
        ("", None),
    ],
)
def test_payment_dates_as_paypal_writes_them(when, expected):
    assert paypal_time(when) == expected


def test_a_windows_1252_donation_books_with_its_name_date_and_fee(app, client, campaign, paypal):
    _deliver(paypal, client, WEB_ACCEPT_1252)
    with app.app_context():
        [entry] = rows("paypal")
        assert entry.external_id == "51403485VH153354B"
        assert (entry.amount_minor, entry.fee_minor, entry.currency) == (1000, 59, "USD")
        assert entry.donor_name == "Jörg User"
        assert entry.occurred_at == datetime(2009, 2, 3, 7, 4, 6, tzinfo=UTC)
        assert entry.campaign.slug == campaign  # "custom" names no campaign: the default one


def test_utf8_and_no_charset_at_all_read_the_same_name(app, client, campaign, paypal):
    utf8 = WEB_ACCEPT_1252.replace(b"windows-1252", b"UTF-8").replace(b"J%F6rg", b"J%C3%B6rg")
    utf8 = utf8.replace(b"51403485VH153354B", b"61E67681CH3238416")
    # PayPal's IPN simulator sends no charset, escapes in lower case and %20 for spaces.
    bare = WEB_ACCEPT_1252.replace(b"&charset=windows-1252", b"").replace(
        b"23%3A04%3A06+Feb+02%2C+2009+PST", b"08%3a15%3a40%20Apr%2022%2c%202013%20PDT"
    )
    bare = bare.replace(b"51403485VH153354B", b"5J621336AL745291X")
    _deliver(paypal, client, utf8)
    _deliver(paypal, client, bare)
    with app.app_context():
        found = {e.external_id: e for e in rows("paypal")}
        assert {e.donor_name for e in found.values()} == {"Jörg User"}
        assert found["5J621336AL745291X"].occurred_at == datetime(
            2013, 4, 22, 15, 15, 40, tzinfo=UTC
        )


def test_a_refund_without_txn_type_counts_where_its_payment_was_booked(
    app, client, campaign, paypal
):
    with app.app_context():
        other = f.make_campaign("other-appeal", currency="USD").slug
    payment = WEB_ACCEPT_1252.replace(
        b"custom=website_id%3D13%26user_id%3D21", b"custom=" + other.encode()
    )
    _deliver(paypal, client, payment)
    refund = (
        b"mc_gross=-10.00&protection_eligibility=Ineligible&payer_id=BN5JZ2V7MLEV4"
        b"&payment_date=13%3A01%3A37+Jun+04%2C+2016+PDT&payment_status=Refunded"
        b"&charset=windows-1252&first_name=J%F6rg&mc_fee=-0.29&notify_version=3.8"
        b"&reason_code=refund&custom=&verify_sign=AS0GLEgdXabTtYM-rAOEWXYt2SkzAK3bcVzZ37ygmqmWc6jGAF14NT3J"
        b"&payer_email=buyer_1233269544_per%40example.com&parent_txn_id=51403485VH153354B"
        b"&txn_id=20H97822T06380225&payment_type=instant&last_name=User&" + RECEIVER +
        b"&payment_fee=-0.29&mc_currency=USD&residence_country=US&transaction_subject="
        b"&payment_gross=-10.00&ipn_track_id=885fd9b8de776"
    )  # fmt: skip
    _deliver(paypal, client, refund)
    _deliver(paypal, client, refund)  # PayPal sends it again: counted once
    with app.app_context():
        booked = {e.kind: e for e in rows("paypal")}
        assert set(booked) == {"payment", "refund"}
        back = booked["refund"]
        assert (back.amount_minor, back.fee_minor) == (-1000, None)
        assert back.payment_ref == "paypal:51403485VH153354B"
        assert back.campaign.slug == other == booked["payment"].campaign.slug
        assert back.occurred_at == datetime(2016, 6, 4, 20, 1, 37, tzinfo=UTC)


def test_a_subscription_signup_payment_and_its_refund(app, client, campaign, paypal):
    signup = (
        b"txn_type=subscr_signup&subscr_id=I-CFAXB3H2DVRM&last_name=Test&residence_country=GB"
        b"&mc_currency=EUR&item_name=Monthly+gift&business=donations%40paypal-simulator.test"
        b"&recurring=1&verify_sign=AaQ8o.zvozAVAJq4.g7xfH7gb2GVAa8.pddg.YogNZxdopbZbj7r8V8Z"
        b"&payer_status=verified&test_ipn=1&payer_email=patron%40example.org&first_name=Ann"
        b"&" + RECEIVER + b"&payer_id=MSGXU76U2EQVU&reattempt=1&item_number=" + campaign.encode() +
        b"&subscr_date=08%3A15%3A40+Apr+22%2C+2013+PDT&custom=" + campaign.encode() +
        b"&charset=windows-1252&notify_version=3.7&period3=1+M&mc_amount3=5.00&amount3=5.00"
        b"&ipn_track_id=26c88083a37ec"
    )  # fmt: skip
    payment = (
        b"transaction_subject=Monthly+gift&payment_date=08%3A15%3A41+Apr+22%2C+2013+PDT"
        b"&txn_type=subscr_payment&subscr_id=I-CFAXB3H2DVRM&last_name=Test&residence_country=GB"
        b"&item_name=Monthly+gift&mc_currency=EUR&business=donations%40paypal-simulator.test"
        b"&payment_type=instant&protection_eligibility=Ineligible"
        b"&verify_sign=A2QxLKJxNBOK3utJMiCwOkOiLG3tAo4.KtJCsCemU7s98tgtW37-hOOx&payer_status=verified"
        b"&test_ipn=1&payer_email=patron%40example.org&txn_id=5J621336AL7452920&first_name=Ann"
        b"&" + RECEIVER + b"&payer_id=MSGXU76U2EQVU&item_number=" + campaign.encode() +
        b"&payment_status=Completed&payment_fee=&mc_fee=0.45&mc_gross=5.00&custom="
        + campaign.encode() + b"&charset=windows-1252&notify_version=3.7"
        b"&ipn_track_id=26c88083a37ed"
    )  # fmt: skip
    refund = (
        b"mc_gross=-5.00&payment_date=09%3A00%3A00+May+01%2C+2013+PDT&payment_status=Refunded"
        b"&charset=windows-1252&mc_fee=-0.15&notify_version=3.7&reason_code=refund&custom="
        b"&verify_sign=AiPC9BjkCyDFQXbSkoZcgqH3hpacAD7Sj3NHPfbwgOXOeeS0LcYP5Tap"
        b"&payer_email=patron%40example.org&parent_txn_id=5J621336AL7452920"
        b"&txn_id=874520514T712964Y&payment_type=instant&" + RECEIVER +
        b"&mc_currency=EUR&ipn_track_id=54b4dbfade396"
    )  # fmt: skip
    for body in (payment, signup, refund):  # the payment may come before the signup
        _deliver(paypal, client, body)
    with app.app_context():
        pledge = db.session.scalar(select(Pledge))
        assert (pledge.channel, pledge.status, pledge.amount_minor, pledge.interval) == (
            "paypal", "active", 500, "month",
        )  # fmt: skip
        booked = {e.kind: e for e in rows("paypal")}
        assert booked["payment"].occurred_at == datetime(2013, 4, 22, 15, 15, 41, tzinfo=UTC)
        assert (booked["payment"].frequency, booked["payment"].pledge_id) == ("monthly", pledge.id)
        assert (booked["refund"].frequency, booked["refund"].pledge_id) == ("monthly", pledge.id)
        assert booked["refund"].amount_minor == -500


@pytest.mark.parametrize(
    "body",
    [
        b"charset=base64&txn_id=1&first_name=%41%42",  # a codec, not a text encoding
        b"charset=zlib&txn_id=1&first_name=%78%9c",
        b"charset=rot13&txn_id=1&first_name=%41",
        b"charset=uu&txn_id=1&first_name=%41",
        b"charset=undefined&txn_id=1&first_name=%41",
        b"charset=utf-16&txn_id=1&first_name=%FF",
        b"charset=idna&txn_id=1&first_name=%80",
        b"charset=" + b"x" * 5000 + b"&txn_id=1",
        b"charset=windows-1252&first_name=J\xf6rg",  # a raw byte, not escaped
        b"charset=UTF-8&first_name=%C3",  # half a character
    ],
)
def test_odd_encodings_are_refused_never_a_server_error(app, client, campaign, paypal, body):
    paypal.sim.sent.add(body)  # even "verified", such a message is not read
    response = post_ipn(client, body)
    assert (response.status_code, response.data) == (200, b"")
    with app.app_context():
        assert rows() == []
        assert db.session.scalar(select(ChannelNotice)) is None  # unreadable before verifying


def test_a_huge_body_is_refused_before_it_is_read(app, client, campaign, paypal):
    huge = WEB_ACCEPT_1252 + b"&memo=" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    assert post_ipn(client, huge).status_code == 413
    with app.app_context():
        assert db.session.scalar(select(LedgerEntry)) is None
