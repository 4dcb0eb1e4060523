"""The monthly bookkeeping export ties to the ledger to the minor unit, in any reporting time
zone, across DST changes and month ends."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, EntryKind, LedgerEntry
from tests.conftest import empty_all_tables
from tests.dashboard import factories as f
from tests.dashboard.conftest import csrf_token
from tests.dashboard.pages import csv_rows, figure_minor

YEAR = 2026
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]
# Moments where bugs hide: local month ends and the DST changes of 2026.
EDGES = [
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
    datetime(2026, 4, 5, 16, 0, tzinfo=UTC),
    datetime(2026, 10, 4, 16, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
    datetime(2026, 12, 31, 13, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, tzinfo=UTC),
]

movement = st.fixed_dictionaries(
    {
        "edge": st.sampled_from(EDGES),
        "seconds": st.integers(min_value=-3 * 3600, max_value=3 * 3600),
        "amount": st.integers(min_value=50, max_value=100_000),
        "fee": st.one_of(st.none(), st.integers(min_value=0, max_value=500)),
        "currency": st.sampled_from(["EUR", "GBP", "JPY"]),
        "frequency": st.sampled_from(["one-time", "monthly", "yearly"]),
        "refund_percent": st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
        "dispute": st.sampled_from([None, "won", "lost"]),
        "later_seconds": st.integers(min_value=0, max_value=40 * 86400),
    }
)


def _book(campaign, m: dict) -> None:
    when = m["edge"] + timedelta(seconds=m["seconds"])
    later = when + timedelta(seconds=m["later_seconds"])
    paid = f.payment(
        campaign,
        m["amount"],
        currency=m["currency"],
        occurred_at=when,
        fee_minor=m["fee"],
        frequency=m["frequency"],
        email=None,
    )
    if m["refund_percent"]:
        refunded = max(1, m["amount"] * m["refund_percent"] // 100)  # a refund moves money
        f.refund(paid, refunded, occurred_at=later, fee_minor=0)
    if m["dispute"]:
        f.movement(paid, EntryKind.DISPUTE_OPENED, -m["amount"], occurred_at=later, fee_minor=1500)
        if m["dispute"] == "won":
            # The ledger keeps fees >= 0 (a CHECK): a won dispute books no fee of its own.
            f.movement(paid, EntryKind.DISPUTE_WON, m["amount"], occurred_at=later, fee_minor=0)
        else:
            f.movement(paid, EntryKind.DISPUTE_LOST, 0, occurred_at=later)


def from_the_ledger(zone: ZoneInfo) -> dict[tuple[str, str], dict[str, int]]:
    """(month, currency) -> sums, straight from every ledger row of the year."""
    out: dict = defaultdict(lambda: defaultdict(int))
    for e in db.session.scalars(select(LedgerEntry)):
        local = e.occurred_at.astimezone(zone)
        if local.year != YEAR:
            continue
        cell = out[(local.strftime("%Y-%m"), e.currency)]
        cell["fees_minor"] += e.fee_minor or 0
        cell["net_minor"] += e.amount_minor - (e.fee_minor or 0)
        if e.kind == EntryKind.PAYMENT.value:
            cell["gross_minor"] += e.amount_minor
            cell["payments"] += 1
        elif e.kind == EntryKind.REFUND.value:
            cell["refunds_minor"] -= e.amount_minor
        else:
            cell["disputes_minor"] -= e.amount_minor
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(movements=st.lists(movement, min_size=1, max_size=8), zone=st.sampled_from(ZONES))
def test_the_bookkeeping_export_ties_to_the_ledger(app, staff_client, monkeypatch, movements, zone):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", zone)
    with app.app_context():
        empty_all_tables()
        campaign = f.make_campaign("books", "EUR")
        for m in movements:
            _book(campaign, m)
        expected = from_the_ledger(ZoneInfo(zone))
        db.session.rollback()
    body = staff_client("viewer").get(f"/staff/bookkeeping.csv?year={YEAR}").get_data(True)
    rows = csv_rows(body)
    shown = {
        (r["month"], r["currency"]): {k: int(v) for k, v in r.items() if k.endswith("_minor")}
        | {"payments": int(r["payments"])}
        for r in rows
    }
    assert set(shown) == set(expected)
    for key, cell in expected.items():
        got = shown[key]
        for column in ("payments", "gross_minor", "fees_minor", "refunds_minor"):
            assert got[column] == cell[column], (key, column)
        assert got["disputes_minor"] == cell["disputes_minor"], key
        assert got["net_minor"] == cell["net_minor"] == got["settled_minor"], key
    for r in rows:
        assert r["channel"] == "Stripe" and r["settled_currency"] == r["currency"]


def test_the_page_and_the_csv_agree_and_the_export_is_audited(app, staff_client, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", "Europe/London")
    with app.app_context():
        campaign = f.make_campaign("books", "EUR")
        paid = f.payment(
            campaign, 10_000, fee_minor=170, occurred_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
        )
        f.refund(paid, 2_500, occurred_at=datetime(2026, 4, 2, 9, 0, tzinfo=UTC))
    client = staff_client("viewer")
    page = client.get("/staff/bookkeeping?year=2026").get_data(as_text=True)
    # 23:30 UTC on 31 March is 00:30 BST on 1 April: an April gift in London.
    assert figure_minor(page, "books-2026-04-EUR-net", "EUR") == 10_000 - 170 - 2_500
    assert "books-2026-03-EUR-net" not in page
    rows = csv_rows(client.get("/staff/bookkeeping.csv?year=2026").get_data(as_text=True))
    assert [(r["month"], r["gross_minor"], r["refunds_minor"], r["net_minor"]) for r in rows] == [
        ("2026-04", "10000", "2500", "7330")
    ]
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "export.bookkeeping")
        )
        assert entry is not None and '"year": 2026' in entry.detail


def test_a_bad_year_is_explained_not_an_error(staff_client):
    client = staff_client("viewer")
    for query in ("year=19", "year=soon"):
        response = client.get(f"/staff/bookkeeping?{query}")
        assert response.status_code == 400
        assert client.get(f"/staff/bookkeeping.csv?{query}").status_code == 400


def test_each_channel_has_its_own_rows(app, staff_client, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", "Europe/London")
    with app.app_context():
        campaign = f.make_campaign("books", "EUR")
        f.payment(campaign, 10_000, fee_minor=170, occurred_at=datetime(2026, 4, 9, 12, tzinfo=UTC))
    staff = staff_client("staff")
    answer = staff.post(
        "/staff/channels/offline",
        data={"csrf_token": csrf_token(staff, "/staff/channels"), "campaign": "books",
              "amount": "7", "currency": "EUR", "day": "2026-04-10", "method": "cash"},
    )  # fmt: skip
    assert answer.status_code == 302
    rows = csv_rows(staff.get("/staff/bookkeeping.csv?year=2026").get_data(as_text=True))
    assert [(r["month"], r["channel"], r["gross_minor"], r["net_minor"]) for r in rows] == [
        ("2026-04", "Offline", "700", "700"),
        ("2026-04", "Stripe", "10000", "9830"),
    ]
