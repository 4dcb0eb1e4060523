"""On PostgreSQL the donations CSV is written by COPY: the same bytes as the Python writer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from fundraiser.dashboard.donations import DonationFilter
from fundraiser.dashboard.export import (
    DONATION_COLUMNS,
    copy_csv,
    csv_lines,
    donation_copy_select,
    donation_rows,
)
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, EntryKind
from tests.dashboard import factories as f

# Formula starts, CSV's own specials, line breaks, unicode, blanks.
TRICKY_NAMES = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+2",
    "-2+3",
    "@SUM(A1)",
    "\tTab",
    "\rReturn",
    "Smith, Jo",
    'Say "hi"',
    "two\nlines",
    "windows\r\nline",
    "Zoë Ünïcödé 🎉 日本",
    "",
    "  spaced  ",
    "\\.",
]
# Just either side of midnight in Kolkata (+5:30), which is mid-hour in UTC.
AROUND_MIDNIGHT = datetime(2026, 3, 10, 18, 29, 59, 999999, tzinfo=UTC)


@pytest.fixture
def tricky_ledger(app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", "Asia/Kolkata")
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("COPY is PostgreSQL's; SQLite always uses the Python writer")
        euro = f.make_campaign("=euro", "EUR")
        yen = f.make_campaign("yen", "JPY")
        monthly = f.pledge(euro, 1000, email="-pledger@example.org")
        gifts = []
        for n, name in enumerate(TRICKY_NAMES):
            currency = ("EUR", "GBP", "USD", "JPY")[n % 4]
            gifts.append(
                f.payment(
                    yen if currency == "JPY" else euro,
                    5 if n == 1 else 1000 + 137 * n,
                    currency=currency,
                    name=name,
                    email=None if n == 2 else f"{'@' if n == 3 else ''}donor{n}@example.org",
                    fee_minor=None if n % 3 == 0 else 30 + n,
                    frequency="monthly" if n == 4 else "one-time",
                    pledge=monthly if n == 4 else None,
                    occurred_at=AROUND_MIDNIGHT + timedelta(microseconds=n % 2, minutes=n),
                )
            )
        f.refund(gifts[0], 300)
        f.refund(gifts[5], gifts[5].amount_minor)
        f.movement(gifts[6], EntryKind.DISPUTE_OPENED, -gifts[6].amount_minor, fee_minor=1500)
        f.movement(gifts[6], EntryKind.DISPUTE_WON, gifts[6].amount_minor)
        f.movement(gifts[7], EntryKind.DISPUTE_OPENED, -gifts[7].amount_minor)
        f.movement(gifts[7], EntryKind.DISPUTE_LOST, 0)
        # What checkouts said: tricky messages, anonymity both ways, fee cover; odd gifts none.
        for n, paid in enumerate(gifts):
            if n % 2:
                continue
            intent = DonationIntent(
                campaign_id=paid.campaign_id,
                amount_minor=paid.amount_minor,
                fee_cover_minor=7 * n,
                currency=paid.currency,
                frequency=paid.frequency,
                anonymous=n % 4 == 0,
                message=TRICKY_NAMES[-1 - n],
                status="paid",
            )
            db.session.add(intent)
            db.session.flush()
            paid.intent_id = intent.id
        db.session.commit()
    return app


def python_csv(donation_filter: DonationFilter) -> bytes:
    lines = csv_lines(DONATION_COLUMNS, donation_rows(donation_filter))
    return "".join(lines).encode()


def copied_csv(donation_filter: DonationFilter) -> bytes:
    return b"".join(copy_csv(donation_copy_select(donation_filter)))


@pytest.mark.parametrize(
    "donation_filter",
    [
        DonationFilter(),
        DonationFilter(currency="JPY"),
        # gifts[7], whose dispute was lost (gifts[6] won its: paid again, as everywhere).
        DonationFilter(status="disputed", campaign="yen"),
        DonationFilter(date_from=date(2026, 3, 11), q="1@example", amount_min="10"),
    ],
)
def test_copy_export_is_byte_identical_to_the_python_export(tricky_ledger, donation_filter):
    with tricky_ledger.test_request_context():
        expected = python_csv(donation_filter)
        assert expected.count(b"\r\n") > 1
        assert copied_csv(donation_filter) == expected


def test_the_streamed_export_on_postgresql_is_the_python_export(tricky_ledger, staff_client):
    with tricky_ledger.test_request_context():
        expected = python_csv(DonationFilter())
    response = staff_client("viewer").get("/staff/donations.csv", buffered=False)
    chunks = list(response.response)
    response.close()
    assert all(isinstance(chunk, bytes) for chunk in chunks)
    assert b"".join(chunks) == expected
    assert "'=HYPERLINK" in expected.decode() and "'@donor3@example.org" in expected.decode()


def test_copy_export_writes_iso_times_whatever_the_servers_date_style(tricky_ledger):
    """The COPY path writes times as PostgreSQL's text (ISO set for the export); a server or
    role set to another DateStyle must not change a byte."""
    with tricky_ledger.test_request_context():
        expected = python_csv(DonationFilter())
        db.session.execute(text("SET DateStyle = 'SQL, DMY'"))
        try:
            assert db.session.scalar(text("SELECT CAST(DATE '2026-03-10' AS text)")) == (
                "10/03/2026"
            )
            assert copied_csv(DonationFilter()) == expected
        finally:
            db.session.rollback()
            db.session.execute(text("RESET DateStyle"))
    # Either side of midnight in Kolkata.
    assert "2026-03-10T18:29:59Z,2026-03-10," in expected.decode()
    assert "2026-03-10T18:31:00Z,2026-03-11," in expected.decode()
