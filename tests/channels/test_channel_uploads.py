"""Staff upload PayPal's activity download and Patreon's members export on /staff/channels:
the same importer and summary as `flask ledger import`, dry run, skip bad rows, audited,
size-capped."""

from __future__ import annotations

import io

from sqlalchemy import select

from fundraiser.dashboard.channel_forms import UPLOAD_MAX_BYTES
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Pledge
from tests.channels.activity_csv import activity_csv, row
from tests.channels.conftest import rows
from tests.channels.test_patreon import EXPORT_HEADER
from tests.dashboard.conftest import csrf_token, staff_client, staff_of  # noqa: F401

MULTIPART = "multipart/form-data"


def _export(*lines: str) -> bytes:
    return ("\ufeff" + "\n".join([EXPORT_HEADER, *lines]) + "\n").encode()


GOOD = ("Pat One,one@example.org,,,Active patron,No,10.00,5.00,monthly,Tier,,,,,,,,2026-01-01,"
        "2026-11-01 08:00:00,Paid,,U-ONE,,EUR,,,")  # fmt: skip
DECLINED = ("Dee Clined,dee@example.org,,,Declined patron,No,0.00,5.00,monthly,Tier,,,,,,,,"
            "2026-01-01,2026-11-01 08:00:00,Declined,,U-DEE,,EUR,,,")  # fmt: skip
HUGE = ("Huge Row,huge@example.org,,,Active patron,No,1e30,5.00,monthly,Tier,,,,,,,,2026-01-01,"
        "2026-11-01 08:00:00,Paid,,U-HUGE,,EUR,,,")  # fmt: skip
BAD = ("Bad Row,bad@example.org,,,Active patron,No,1,lots,monthly,Tier,,,,,,,,2026-01-01,"
       "2026-11-01 08:00:00,Paid,,U-BAD,,EUR,,,")  # fmt: skip


def _patreon_upload(client, data: bytes, **options):
    token = csrf_token(client, "/staff/channels")
    form = {"patreon-csrf_token": token, "patreon-file": (io.BytesIO(data), "members.csv")}
    form.update({f"patreon-{name}": "y" for name, on in options.items() if on})
    return client.post("/staff/channels/patreon-import", data=form, content_type=MULTIPART)


def _paypal_upload(client, data: bytes, **options):
    token = csrf_token(client, "/staff/channels")
    form = {"csrf_token": token, "file": (io.BytesIO(data), "Download.CSV")}
    form.update({name: "y" for name, on in options.items() if on})
    return client.post("/staff/channels/paypal-import", data=form, content_type=MULTIPART)


def _audit(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_staff_check_then_import_a_patreon_members_export(app, campaign, staff_client):  # noqa: F811
    client = staff_client("staff")
    data = _export(GOOD, DECLINED)
    checked = _patreon_upload(client, data, dry_run=True)
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "Nothing imported from the Patreon file" in page
    assert "Members in the file: 2" in page and "New: 1 · Already known: 0 · Skipped: 1" in page
    with app.app_context():
        assert rows() == [] and db.session.scalar(select(Pledge)) is None
        assert len(_audit("staff.dry_run_import")) == 1
    imported = _patreon_upload(client, data)
    page = imported.get_data(as_text=True)
    assert imported.status_code == 200 and "Imported from the Patreon file" in page
    assert "New: 1 · Already known: 0 · Skipped: 1 · Refused: 0" in page
    with app.app_context():
        [entry] = rows("patreon")
        assert (entry.amount_minor, entry.donor_email) == (500, "one@example.org")
        [upload] = _audit("staff.import")
        assert upload.target == "patreon" and '"new": 1' in upload.detail
        lifetimes = {p.email: p.reported_lifetime_minor for p in db.session.scalars(select(Pledge))}
        assert lifetimes == {"one@example.org": 1000, "dee@example.org": 0}
    again = _patreon_upload(client, data).get_data(as_text=True)
    assert "New: 0 · Already known: 1" in again


def test_a_malformed_patreon_row_stops_the_import_unless_told_to_skip(app, campaign, staff_client):  # noqa: F811
    client = staff_client("admin")
    data = _export(GOOD, BAD)
    refused = _patreon_upload(client, data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Nothing imported" in page
    assert "Line 3: Pledge Amount &#39;lots&#39; is not an amount" in page and "Refused: 1" in page
    with app.app_context():
        assert rows() == [] and db.session.scalar(select(Pledge)) is None
    skipped = _patreon_upload(client, data, skip_bad_rows=True)
    assert skipped.status_code == 200 and "Line 3:" in skipped.get_data(as_text=True)
    with app.app_context():
        assert [e.external_id for e in rows("patreon")] == ["U-ONE:2026-11-01"]
    huge = _patreon_upload(client, _export(HUGE))
    assert huge.status_code == 400 and "Lifetime Amount &#39;1e30&#39; is not an amount" in (
        huge.get_data(as_text=True)
    )
    not_export = _patreon_upload(client, b"Name,Amount\nx,1\n")
    assert not_export.status_code == 400
    assert "Not a Patreon members export" in not_export.get_data(as_text=True)


def test_a_malformed_paypal_row_stops_the_import_unless_told_to_skip(app, campaign, staff_client):  # noqa: F811
    client = staff_client("staff")
    data = activity_csv(
        [row("GOOD0000000000001", "Donation Payment", "10.00"),
         row("BAD00000000000001", "Donation Payment", "ten"),
         row("MEMO0000000000001", "General Hold", "-1.00")]
    )  # fmt: skip
    refused = _paypal_upload(client, data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Nothing imported from the PayPal file" in page
    assert "Line 3:" in page and "Skipped: 1" in page
    with app.app_context():
        assert rows() == []
    skipped = _paypal_upload(client, data, skip_bad_rows=True)
    assert skipped.status_code == 200 and "New: 1" in skipped.get_data(as_text=True)
    with app.app_context():
        assert [e.external_id for e in rows("paypal")] == ["GOOD0000000000001"]
        assert len(_audit("staff.import")) == 2  # the refused upload and the one that booked


def test_uploads_take_files_larger_than_a_form_but_not_without_limit(app, campaign, staff_client):  # noqa: F811
    client = staff_client("staff")
    many = [row(f"BIG{n:014d}", "Donation Payment", "1.00") for n in range(2500)]
    data = activity_csv(many)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]  # larger than any other form takes
    response = _paypal_upload(client, data, dry_run=True)
    assert response.status_code == 200 and "New: 2500" in response.get_data(as_text=True)
    huge = b"x" * (UPLOAD_MAX_BYTES + 1)
    for upload in (_paypal_upload, _patreon_upload):
        too_big = upload(client, huge)
        assert too_big.status_code == 413
        assert "more than we accept" in too_big.get_data(as_text=True)
    # Every other staff form keeps the usual limit.
    token = csrf_token(client, "/staff/channels")
    big_gift = client.post(
        "/staff/channels/offline",
        data={"csrf_token": token, "note": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)},
    )
    assert big_gift.status_code == 413
    with app.app_context():
        assert rows() == []


def test_hostile_files_are_a_form_error_never_a_server_error(app, campaign, staff_client):  # noqa: F811
    client = staff_client("staff")
    giant_field = b'"' + b"x" * 200_000 + b'"\n'  # beyond the csv module's field limit
    files = [
        activity_csv([row("ODD00000000000001", "Donation Payment", "1.00")]) + giant_field,
        _export(GOOD).rstrip(b"\n") + b"," + giant_field,
        b"\x00\xff\xfe" * 1000,
        "Date,Type\n".encode("utf-16"),
        b"",
    ]
    for data in files:
        for upload in (_paypal_upload, _patreon_upload):
            response = upload(client, data)
            assert response.status_code == 400, (upload.__name__, data[:40])
    with app.app_context():
        assert rows() == []


def test_viewers_cannot_upload(app, campaign, staff_client):  # noqa: F811
    client = staff_client("viewer")
    token = csrf_token(client, "/staff/drift")
    response = client.post(
        "/staff/channels/patreon-import",
        data={"patreon-csrf_token": token, "patreon-file": (io.BytesIO(_export(GOOD)), "m.csv")},
        content_type=MULTIPART,
    )
    assert response.status_code == 403
    with app.app_context():
        assert rows() == [] and _audit("staff.import") == []
