"""Dashboard figures are the ledger's sums: per currency, per period, on the page and in CSV."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import EntryKind, LedgerEntry
from tests.dashboard import factories as f
from tests.dashboard.pages import csv_rows, figure_minor, figure_text

NOW = datetime(2026, 3, 18, 15, 0, tzinfo=UTC)
DISPUTES = {"dispute_opened", "dispute_won", "dispute_lost"}


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def london(app, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", "Europe/London")


@pytest.fixture
def ledger(app, frozen, london):
    """A mixed ledger: three currencies, fees, partial and full refunds, a dispute lost and won."""
    with app.app_context():
        euro = f.make_campaign("euro-appeal", "EUR")
        pound = f.make_campaign("pound-appeal", "GBP")
        monthly = f.pledge(euro, 1000, email="ann@example.org")
        yearly = f.pledge(pound, 3000, interval="year", email="bob@example.org")
        f.pledge(euro, 500, status="paused", email="cat@example.org")
        f.pledge(euro, 700, status="past_due", email="dan@example.org")
        f.pledge(euro, 900, status="cancelled", cancelled_at=days_ago(3), email="eve@example.org")
        f.pledge(euro, 800, created_at=days_ago(2), email="fay@example.org")
        rows = []
        gift = f.payment(
            euro, 2500, fee_minor=60, occurred_at=days_ago(0.1), email="ann@example.org"
        )
        rows += [gift, f.refund(gift, 500, occurred_at=days_ago(0.05))]
        rows.append(
            f.payment(
                euro,
                1000,
                fee_minor=40,
                frequency="monthly",
                pledge=monthly,
                occurred_at=days_ago(3),
                email="ann@example.org",
            )
        )
        disputed = f.payment(
            euro, 5000, fee_minor=100, occurred_at=days_ago(20), email="gus@example.org"
        )
        rows += [
            disputed,
            f.movement(
                disputed, EntryKind.DISPUTE_OPENED, -5000, occurred_at=days_ago(10), fee_minor=1500
            ),
            f.movement(disputed, EntryKind.DISPUTE_WON, 5000, occurred_at=days_ago(5)),
        ]
        rows.append(f.payment(euro, 700, occurred_at=days_ago(60), email="hal@example.org"))
        rows.append(
            f.payment(
                pound,
                3000,
                fee_minor=70,
                frequency="yearly",
                pledge=yearly,
                occurred_at=days_ago(2),
                email="bob@example.org",
            )
        )
        refunded = f.payment(
            pound, 1500, fee_minor=45, occurred_at=days_ago(40), email="ann@example.org"
        )
        rows += [refunded, f.refund(refunded, 1500, occurred_at=days_ago(35))]
        rows.append(
            f.payment(
                euro,
                10000,
                currency="USD",
                fee_minor=320,
                occurred_at=days_ago(0.2),
                email="ivy@example.org",
            )
        )
        return [
            {
                "kind": r.kind,
                "amount": r.amount_minor,
                "fee": r.fee_minor or 0,
                "currency": r.currency,
                "frequency": r.frequency,
                "at": r.occurred_at,
                "email": r.donor_email,
            }
            for r in rows
        ]


def expected(rows: list[dict], since: datetime | None) -> dict[str, dict[str, int]]:
    """The figures, summed in Python straight from the rows the factories wrote."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if since is not None and row["at"] < since:
            continue
        figures = out[row["currency"]]
        figures["fees"] += row["fee"]
        if row["kind"] == "payment":
            figures["gross"] += row["amount"]
            figures["payments"] += 1
            key = "one-off" if row["frequency"] == "one-time" else "recurring"
            figures[key] += row["amount"]
        elif row["kind"] == "refund":
            figures["refunds"] += -row["amount"]
        elif row["kind"] in DISPUTES:
            figures["disputes"] += -row["amount"]
        figures["net"] += row["amount"] - row["fee"]
    return out


PERIOD_STARTS = {
    "today": datetime(2026, 3, 18, 0, 0, tzinfo=UTC),  # London is on GMT in mid-March
    "7d": NOW - timedelta(days=7),
    "30d": NOW - timedelta(days=30),
    "month": datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
    "all": None,
}


@pytest.mark.parametrize("period", list(PERIOD_STARTS))
def test_staff_sees_headline_figures_that_equal_the_ledger_rows(staff_client, ledger, period):
    page = staff_client("viewer").get("/staff/").get_data(as_text=True)
    sums = expected(ledger, PERIOD_STARTS[period])
    for currency in ("EUR", "GBP", "USD"):
        mine = sums.get(currency, {})
        for key in ("gross", "one-off", "recurring", "fees", "refunds", "disputes", "net"):
            shown = figure_minor(page, f"{currency}-{period}-{key}", currency)
            outflow = key in ("fees", "refunds", "disputes")
            assert shown == (-1 if outflow else 1) * mine.get(key, 0), (currency, period, key)
        assert int(figure_text(page, f"{currency}-{period}-payments")) == mine.get("payments", 0)


def test_currencies_are_never_added_together(staff_client, ledger):
    page = staff_client("viewer").get("/staff/").get_data(as_text=True)
    assert figure_minor(page, "EUR-all-gross", "EUR") == 2500 + 1000 + 5000 + 700
    assert figure_minor(page, "GBP-all-gross", "GBP") == 3000 + 1500
    assert figure_minor(page, "USD-all-gross", "USD") == 10000
    assert "€10,000" not in page  # the dollars stay dollars


def test_recurring_revenue_pledges_gifts_and_supporters(staff_client, ledger):
    page = staff_client("viewer").get("/staff/").get_data(as_text=True)
    assert figure_minor(page, "EUR-mrr", "EUR") == 1000 + 800  # active monthly pledges
    assert figure_minor(page, "GBP-mrr", "GBP") == 3000 // 12  # a yearly pledge counts a twelfth
    assert figure_text(page, "pledges-active") == "3"
    assert figure_text(page, "pledges-paused") == "1"
    assert figure_text(page, "pledges-past-due") == "1"
    assert figure_text(page, "pledges-new") == "1"
    assert figure_text(page, "pledges-cancelled") == "1"
    # EUR gifts 700, 1000, 2500, 5000: mean 2300, median (1000 + 2500) / 2 = 1750
    assert figure_minor(page, "EUR-average", "EUR") == 2300
    assert figure_minor(page, "EUR-median", "EUR") == 1750
    # GBP gifts 1500, 3000: median 2250; USD one gift
    assert figure_minor(page, "GBP-median", "GBP") == 2250
    assert figure_minor(page, "USD-median", "USD") == 10000
    assert figure_text(page, "EUR-supporters") == "3"  # ann, gus, hal
    assert figure_text(page, "supporters-total") == "5"  # ann, gus, hal, bob, ivy


def test_donations_csv_adds_up_to_the_figures_on_the_page(staff_client, ledger):
    client = staff_client("viewer")
    page = client.get("/staff/").get_data(as_text=True)
    rows = csv_rows(client.get("/staff/donations.csv").get_data(as_text=True))
    assert len(rows) == sum(1 for r in ledger if r["kind"] == "payment")
    for currency in ("EUR", "GBP", "USD"):
        mine = [r for r in rows if r["currency"] == currency]
        assert sum(int(r["amount_minor"]) for r in mine) == figure_minor(
            page, f"{currency}-all-gross", currency
        )
        assert sum(int(r["net_minor"]) for r in mine) == figure_minor(
            page, f"{currency}-all-net", currency
        )
        assert sum(int(r["refunded_minor"]) for r in mine) == -figure_minor(
            page, f"{currency}-all-refunds", currency
        )


def test_supporters_csv_adds_up_to_the_figures_on_the_page(staff_client, ledger):
    client = staff_client("viewer")
    page = client.get("/staff/").get_data(as_text=True)
    rows = csv_rows(client.get("/staff/supporters.csv").get_data(as_text=True))
    for currency in ("EUR", "GBP", "USD"):
        mine = [r for r in rows if r["currency"] == currency]
        for column, figure in (("gross_minor", "gross"), ("net_minor", "net")):
            assert sum(int(r[column]) for r in mine) == figure_minor(
                page, f"{currency}-all-{figure}", currency
            )
    ann = {r["currency"]: r for r in rows if r["email"] == "ann@example.org"}
    assert ann["EUR"]["gifts"] == "2" and ann["EUR"]["refunds_minor"] == "500"
    assert ann["GBP"]["net_minor"] == str(1500 - 45 - 1500)


def test_daily_chart_table_matches_the_ledger_and_draws_stacked_bars(staff_client, ledger):
    page = staff_client("viewer").get("/staff/?start=2026-02-17&end=2026-03-18")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    in_range = [
        r
        for r in ledger
        if r["kind"] == "payment"
        and r["currency"] == "EUR"
        and r["at"] >= datetime(2026, 2, 17, tzinfo=UTC)
    ]
    assert figure_minor(body, "range-total-EUR", "EUR") == sum(r["amount"] for r in in_range)
    assert '<svg class="chart"' in body
    assert 'class="bar-one-off"' in body and 'class="bar-recurring"' in body
    assert "<script" not in body and "style=" not in body  # nothing our CSP would block


def test_a_bad_chart_range_is_explained_not_an_error(staff_client, ledger):
    response = staff_client("viewer").get("/staff/?start=2026-03-18&end=2026-01-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.get_data(as_text=True)
    response = staff_client("viewer").get("/staff/?start=yesterday")
    assert response.status_code == 400


def test_campaign_page_shows_goal_progress_top_days_and_latest_gifts(staff_client, ledger):
    page = staff_client("viewer").get("/staff/campaigns/euro-appeal").get_data(as_text=True)
    # Raised: EUR rows of the campaign, net of refunds and disputes, before fees.
    assert figure_minor(page, "campaign-raised", "EUR") == 2500 - 500 + 1000 + 5000 + 700
    assert "Best days" in page and "ivy@example.org" not in page.split("Latest gifts")[0][-200:]
    assert "gus@example.org" in page


class TestReportingTimeZone:
    """ "Today" and "this month" are the reporting time zone's, not UTC's."""

    @pytest.fixture
    def new_york(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", "America/New_York")

    def test_a_gift_at_3am_utc_counts_as_yesterday_in_new_york(self, app, staff_client, new_york):
        with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False):
            with app.app_context():
                campaign = f.make_campaign()
                f.payment(campaign, 1111, occurred_at=datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
                f.payment(campaign, 2222, occurred_at=datetime(2026, 3, 10, 5, 0, tzinfo=UTC))
            page = staff_client("viewer").get("/staff/?start=2026-03-09&end=2026-03-10")
            body = page.get_data(as_text=True)
        # 03:00 UTC is 23:00 on the 9th in New York (EDT, UTC-4); 05:00 UTC is 01:00 on the 10th.
        assert figure_minor(body, "EUR-today-gross", "EUR") == 2222
        assert figure_minor(body, "EUR-7d-gross", "EUR") == 3333
        assert '<time datetime="2026-03-09">' in body
        ninth = body.split('<time datetime="2026-03-09">')[1].split("</tr>")[0]
        assert "€11.11" in ninth

    def test_the_month_starts_at_local_midnight(self, app, staff_client, new_york):
        with time_machine.travel(datetime(2026, 3, 2, 12, 0, tzinfo=UTC), tick=False):
            with app.app_context():
                campaign = f.make_campaign()
                # 03:00 UTC on 1 March is 22:00 on 28 February in New York (EST, UTC-5).
                f.payment(campaign, 1000, occurred_at=datetime(2026, 3, 1, 3, 0, tzinfo=UTC))
                f.payment(campaign, 4000, occurred_at=datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
            body = staff_client("viewer").get("/staff/").get_data(as_text=True)
        assert figure_minor(body, "EUR-month-gross", "EUR") == 4000
        assert figure_minor(body, "EUR-all-gross", "EUR") == 5000

    def test_in_london_the_same_gift_is_today(self, app, staff_client, london):
        with time_machine.travel(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), tick=False):
            with app.app_context():
                campaign = f.make_campaign()
                f.payment(campaign, 1111, occurred_at=datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
            body = staff_client("viewer").get("/staff/").get_data(as_text=True)
        assert figure_minor(body, "EUR-today-gross", "EUR") == 1111


def test_one_combined_figure_in_the_settlement_currency(app, staff_client, ledger):
    from fundraiser.rates import DEMO_SNAPSHOT, import_file, latest_rates

    with app.app_context():
        import_file(DEMO_SNAPSHOT)
        db.session.commit()
        rates = latest_rates()
        net = {}
        for row in db.session.scalars(select(LedgerEntry)):
            net[row.currency] = net.get(row.currency, 0) + row.amount_minor
        # None of these rows has settled at Stripe: the other currencies count at the rates.
        expected = sum(rates.convert(amount, currency, "GBP") for currency, amount in net.items())
    page = staff_client("viewer").get("/staff/").get_data(as_text=True)
    assert "All currencies, in GBP" in page
    assert figure_minor(page, "combined-raised", "GBP") == expected
    assert rates.day.isoformat() in page
