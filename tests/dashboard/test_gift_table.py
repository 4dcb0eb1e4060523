"""The donations table and CSV show channel, anonymity, fee cover and message in words people
read, and the filters offer only what occurs."""

from __future__ import annotations

import re

from fundraiser.dashboard.export import DONATION_COLUMNS
from fundraiser.extensions import db
from fundraiser.models import DonationIntent
from tests.dashboard import factories as f
from tests.dashboard.pages import csv_rows

DOCUMENTED_FIRST = (
    "payment_ref,occurred_at_utc,occurred_on_local,campaign,donor_email,donor_name,frequency,"
    "status,currency,amount_minor,fee_minor,refunded_minor,disputed_minor,net_minor,amount,"
    "charge_id,invoice_id,subscription_id"
)


def seed(app) -> None:
    with app.app_context():
        euro = f.make_campaign("kazakhstan", "EUR", title="Behind Kazakhstan’s turmoil")
        f.make_campaign("quiet", "EUR", title="A campaign nobody gave to")
        intent = DonationIntent(
            campaign_id=euro.id,
            amount_minor=2500,
            fee_cover_minor=95,
            currency="EUR",
            frequency="one-time",
            anonymous=True,
            message="=1+1 for solidarity, comrades",
            status="paid",
        )
        db.session.add(intent)
        db.session.commit()
        paid = f.payment(euro, 2595, email="anon@example.org")
        paid.intent_id = intent.id
        db.session.commit()
        monthly = f.pledge(euro, 1000, email="pat@example.org")
        f.payment(euro, 1000, frequency="monthly", pledge=monthly, email="pat@example.org")


def _options(page: str, select_name: str) -> list[str]:
    block = page.split(f'name="{select_name}"')[1].split("</select>")[0]
    return re.findall(r'<option[^>]*value="([^"]*)"', block)


def test_the_table_shows_channel_anonymity_fee_cover_and_message_in_words(app, staff_client):
    seed(app)
    page = staff_client("viewer").get("/staff/donations").get_data(as_text=True)
    table = page.split("<table")[1]
    assert "Behind Kazakhstan’s turmoil" in table and ">kazakhstan<" not in table
    assert "One-off" in table and "Monthly" in table and "one-time" not in table
    assert "Stripe" in table and "€0.95" in table
    assert "<td>yes</td>" in table and "=1+1 for solidarity, comrades" in table


def test_filters_offer_only_what_occurs(app, staff_client):
    seed(app)
    page = staff_client("viewer").get("/staff/donations").get_data(as_text=True)
    assert _options(page, "currency") == ["", "EUR"]
    assert _options(page, "campaign") == ["", "kazakhstan"]
    assert _options(page, "frequency") == ["", "one-time", "monthly", "recurring"]
    assert ">One-off</option>" in page and ">Partly refunded</option>" in page


def test_a_chosen_value_that_does_not_occur_yet_still_filters(app, staff_client):
    seed(app)
    client = staff_client("viewer")
    for query in ("currency=GBP", "campaign=quiet", "frequency=yearly"):
        response = client.get(f"/staff/donations?{query}")
        assert response.status_code == 200, query
        assert "No donations match." in response.get_data(as_text=True)
    assert client.get("/staff/donations?currency=XXX").status_code == 400


def test_the_csv_keeps_its_documented_columns_and_adds_the_new_ones_at_the_end(app, staff_client):
    seed(app)
    body = staff_client("viewer").get("/staff/donations.csv").get_data(as_text=True)
    header = body.split("\r\n")[0]
    assert header.startswith(DOCUMENTED_FIRST + ",")
    assert header.split(",")[18:] == [
        "channel",
        "anonymous",
        "fee_cover_minor",
        "message",
        "campaign_title",
    ]
    assert tuple(header.split(",")) == DONATION_COLUMNS
    rows = {r["frequency"]: r for r in csv_rows(body)}
    gift, renewal = rows["one-time"], rows["monthly"]
    assert (gift["channel"], gift["anonymous"], gift["fee_cover_minor"]) == ("Stripe", "yes", "95")
    assert gift["message"] == "'=1+1 for solidarity, comrades"  # formula neutralised
    assert gift["campaign_title"] == "Behind Kazakhstan’s turmoil"
    assert gift["campaign"] == "kazakhstan" and gift["frequency"] == "one-time"  # unchanged
    assert (renewal["channel"], renewal["anonymous"], renewal["fee_cover_minor"]) == (
        "Stripe",
        "",
        "",
    )
