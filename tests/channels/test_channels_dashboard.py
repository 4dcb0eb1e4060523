"""/staff/channels: staff upload PayPal's activity CSV and record or reverse offline gifts."""

from __future__ import annotations

import csv
import io

from tests.channels.activity_csv import activity_csv, row
from tests.channels.conftest import rows
from tests.dashboard.conftest import csrf_token, staff_client, staff_of  # noqa: F401


def test_staff_upload_the_paypal_activity_file(app, campaign, staff_client):  # noqa: F811
    client = staff_client("staff")
    data = activity_csv(
        [row("UP1", "Donation Payment", "12.00"), row("UP2", "General Currency Conversion", "-1")]
    )
    token = csrf_token(client, "/staff/channels")
    checked = client.post(
        "/staff/channels/paypal-import",
        data={"csrf_token": token, "dry_run": "y", "file": (io.BytesIO(data), "Download.CSV")},
        content_type="multipart/form-data",
    )
    assert checked.status_code == 200 and "Nothing imported" in checked.get_data(as_text=True)
    with app.app_context():
        assert rows() == []
    imported = client.post(
        "/staff/channels/paypal-import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "Download.CSV")},
        content_type="multipart/form-data",
    )
    page = imported.get_data(as_text=True)
    assert imported.status_code == 200 and "New: 1" in page and "Skipped: 1" in page
    with app.app_context():
        assert [e.external_id for e in rows("paypal")] == ["UP1"]
    not_csv = client.post(
        "/staff/channels/paypal-import",
        data={"csrf_token": token, "file": (io.BytesIO(b"\x00\xff"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert not_csv.status_code == 400 and "Not a PayPal activity CSV" in not_csv.get_data(
        as_text=True
    )


def test_staff_record_and_reverse_an_offline_gift(app, campaign, staff_client):  # noqa: F811
    client = staff_client("admin")
    token = csrf_token(client, "/staff/channels")
    gift = {"csrf_token": token, "campaign": campaign, "amount": "25", "currency": "",
            "day": "2026-11-20", "method": "cash", "donor_name": "Bea",
            "reference": "R-1"}  # fmt: skip
    recorded = client.post("/staff/channels/offline", data=gift)
    assert recorded.status_code == 302
    again = client.post("/staff/channels/offline", data=gift)
    assert again.status_code == 400 and "recorded already" in again.get_data(as_text=True)
    bad = client.post("/staff/channels/offline", data={**gift, "reference": "", "amount": "-1"})
    assert bad.status_code == 400 and "more than zero" in bad.get_data(as_text=True)
    with app.app_context():
        [entry] = rows("offline")
        entry_id = entry.id
    reversed_ = client.post(
        f"/staff/channels/offline/{entry_id}/reverse", data={"csrf_token": token, "reason": "dup"}
    )
    assert reversed_.status_code == 302
    page = client.get("/staff/channels").get_data(as_text=True)
    assert "reversed" in page
    with app.app_context():
        assert sum(e.amount_minor for e in rows("offline")) == 0


def test_viewers_cannot_record_gifts(app, campaign, staff_client):  # noqa: F811
    client = staff_client("viewer")
    assert client.get("/staff/channels").status_code == 403
    assert client.post("/staff/channels/offline", data={}).status_code in (400, 403)
    with app.app_context():
        assert rows() == []


def test_donations_table_filter_and_export_cover_every_channel(app, campaign, staff_client):  # noqa: F811
    from tests.factories import add_payment

    client = staff_client("viewer")
    with app.app_context():
        add_payment(campaign, 1500, email="card@example.org")
    staff = staff_client("staff")
    token = csrf_token(staff, "/staff/channels")
    staff.post(
        "/staff/channels/offline",
        data={"csrf_token": token, "campaign": campaign, "amount": "7", "day": "2026-11-20",
              "method": "cash", "donor_email": "cash@example.org"},
    )  # fmt: skip
    everything = client.get("/staff/donations").get_data(as_text=True)
    assert "card@example.org" in everything and "cash@example.org" in everything
    offline_only = client.get("/staff/donations?channel=offline").get_data(as_text=True)
    assert "cash@example.org" in offline_only and "card@example.org" not in offline_only
    # The filter offers only the channels that occur, in the words staff read.
    assert '<option value="offline">Offline</option>' in everything
    assert '<option value="stripe">Stripe</option>' in everything
    assert 'value="paypal"' not in everything
    export = client.get("/staff/donations.csv?channel=offline").get_data(as_text=True)
    header, *lines = list(csv.reader(io.StringIO(export)))
    # One channel column, where docs/csv-export.md has it (19th), with the channel's label.
    assert header.count("channel") == 1 and header.index("channel") == 18
    assert len(lines) == 1 and lines[0][18] == "Offline"
