"""CSV exports: streamed in constant memory, stable columns, no spreadsheet formulas."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

from sqlalchemy import insert

from fundraiser.dashboard.export import DONATION_COLUMNS, SUPPORTER_COLUMNS, neutralise
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, LedgerEntry, utcnow
from fundraiser.payments import rollups
from tests.conftest import REPO_ROOT
from tests.dashboard import factories as f
from tests.dashboard.pages import csv_rows

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _bulk_payments(campaign_id: int, count: int, start: int = 0) -> None:
    """Many payments at once through a Core INSERT (the ORM would make the test slow), then
    the roll-ups rebuilt."""
    now = utcnow()
    db.session.execute(
        insert(LedgerEntry),
        [
            {
                "stripe_ref": f"pi_bulk_{n}",
                "kind": "payment",
                "campaign_id": campaign_id,
                "payment_ref": f"pi_bulk_{n}",
                "frequency": "one-time",
                "amount_minor": 1000 + n % 7,
                "currency": "EUR",
                "donor_email": f"bulk{n}@example.org",
                "donor_name": "Bulk Donor",
                "occurred_at": now - timedelta(seconds=n),
                "created_at": now,
            }
            for n in range(start, start + count)
        ],
    )
    rollups.rebuild()  # bulk rows bypass the books, as the bench's COPY does
    db.session.commit()


def test_spreadsheet_formulas_in_donor_data_are_neutralised(app, staff_client):
    with app.app_context():
        campaign = f.make_campaign()
        for n, text in enumerate(HOSTILE):
            f.payment(campaign, 500 + n, name=text, email=f"{n}@example.org")
        f.payment(campaign, 700, name="Ann = Bob", email="-dash@example.org")
    body = staff_client("viewer").get("/staff/donations.csv").get_data(as_text=True)
    rows = csv_rows(body)
    names = {row["donor_name"] for row in rows}
    assert names == {"'" + text for text in HOSTILE} | {"Ann = Bob"}
    assert {row["donor_email"] for row in rows if row["amount_minor"] == "700"} == {
        "'-dash@example.org"
    }
    for row in rows:  # no text cell a spreadsheet would evaluate
        for column in ("donor_name", "donor_email", "campaign", "payment_ref"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r"))
    supporters = csv_rows(staff_client("viewer").get("/staff/supporters.csv").get_data(True))
    assert {row["name"] for row in supporters} >= {"'" + text for text in HOSTILE}


def test_numbers_stay_numbers_even_when_negative():
    assert neutralise(-500) == -500
    assert neutralise("-500") == "'-500"
    assert neutralise(None) == ""
    assert neutralise(True) == "yes"


def test_exports_have_the_documented_columns_in_order(app, staff_client):
    with app.app_context():
        f.payment(f.make_campaign(), 1000)
    client = staff_client("viewer")
    donations = client.get("/staff/donations.csv")
    assert donations.headers["Content-Type"].startswith("text/csv")
    assert donations.headers["Content-Disposition"].startswith('attachment; filename="donations-')
    assert donations.get_data(as_text=True).splitlines()[0] == ",".join(DONATION_COLUMNS)
    supporters = client.get("/staff/supporters.csv").get_data(as_text=True)
    assert supporters.splitlines()[0] == ",".join(SUPPORTER_COLUMNS)
    text = (REPO_ROOT / "docs" / "csv-export.md").read_text(encoding="utf-8")
    for column in DONATION_COLUMNS + SUPPORTER_COLUMNS:
        assert f"`{column}`" in text, f"{column} is not documented in docs/csv-export.md"


def test_export_follows_the_filter_and_is_audited(app, staff_client):
    with app.app_context():
        campaign = f.make_campaign()
        f.payment(campaign, 1000, email="keep@example.org")
        f.payment(campaign, 9000, email="drop@example.org")
    client = staff_client("viewer")
    rows = csv_rows(client.get("/staff/donations.csv?amount_max=20").get_data(as_text=True))
    assert [row["donor_email"] for row in rows] == ["keep@example.org"]
    with app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "export.donations")
        )
        assert '"amount_max": "20"' in entry.detail


def test_a_bad_filter_on_export_is_a_clear_400(staff_client):
    response = staff_client("viewer").get("/staff/donations.csv?amount_min=lots")
    assert response.status_code == 400
    assert "Enter an amount like 10 or 12.50." in response.get_data(as_text=True)


def _export_peak(client) -> tuple[int, int]:
    """Rows and the peak Python memory while a streamed export is read chunk by chunk."""
    response = client.get("/staff/donations.csv", buffered=False)
    assert response.is_streamed
    tracemalloc.start()
    lines = 0
    chunks = 0
    for chunk in response.response:
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        chunks += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    assert chunks > 2, "the export should arrive in several chunks"
    return lines - 1, peak


def test_exports_stream_in_constant_memory(app, staff_client):
    client = staff_client("viewer")
    with app.app_context():
        campaign_id = f.make_campaign().id
        _bulk_payments(campaign_id, 10_000)
    small_rows, small_peak = _export_peak(client)
    with app.app_context():
        _bulk_payments(campaign_id, 20_000, start=10_000)
    large_rows, large_peak = _export_peak(client)
    assert (small_rows, large_rows) == (10_000, 30_000)
    # Three times the rows, the same memory: rows are fetched 2,000 at a time and written
    # in chunks, so the peak is about two batches however long the export is.
    assert large_peak < small_peak * 1.15, (small_peak, large_peak)
