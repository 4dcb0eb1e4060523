"""The overview: a period's figures equal the ledger recomputed, periods follow the reporting
time zone across DST changes, and every figure links to the donations behind it."""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fundraiser.cache import get_cache
from fundraiser.dashboard import reports
from fundraiser.dashboard.overview import build_overview, choose_period
from fundraiser.extensions import db
from fundraiser.models import EntryKind, ExchangeRate, LedgerEntry, Pledge, ledger_key
from tests.conftest import empty_all_tables
from tests.dashboard import factories as f
from tests.dashboard.pages import csv_rows, figure_minor, figure_text

NOW = datetime(2026, 3, 18, 15, 7, tzinfo=UTC)
ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"]
EMAILS = ["ann@example.org", "bob@example.org", "cy@example.org", None]
_gift_numbers = itertools.count(1)


# --- Figures equal the ledger, recomputed in Python ------------------------------------------


gift = st.fixed_dictionaries(
    {
        "minutes_ago": st.integers(min_value=0, max_value=80 * 24 * 60),
        "seconds": st.integers(min_value=0, max_value=59),
        # Most gifts land near a boundary of the period or its comparison, where mistakes hide.
        "anchor": st.sampled_from([None, 0, 1, 2, 3, 0, 1, 2, 3]),
        "near_seconds": st.integers(min_value=-1200, max_value=1200),
        "amount": st.integers(min_value=100, max_value=50_000),
        "fee": st.one_of(st.none(), st.integers(min_value=0, max_value=300)),
        "currency": st.sampled_from(["EUR", "GBP", "USD"]),
        "frequency": st.sampled_from(["one-time", "monthly"]),
        "email": st.sampled_from(EMAILS),
        "channel": st.sampled_from(["stripe", "stripe", "paypal", "offline"]),
        # What the gift came to in the settlement currency (GBP in tests), once known.
        "settled": st.one_of(st.none(), st.integers(min_value=50, max_value=60_000)),
        "refund": st.one_of(st.none(), st.integers(min_value=1, max_value=100)),
        "dispute": st.booleans(),
        "later_minutes": st.integers(min_value=0, max_value=20 * 24 * 60),
    }
)
pledge_case = st.fixed_dictionaries(
    {
        "amount": st.integers(min_value=100, max_value=10_000),
        "interval": st.sampled_from(["month", "year"]),
        "status": st.sampled_from(["active", "cancelled", "paused", "incomplete", "past_due"]),
        "currency": st.sampled_from(["EUR", "GBP"]),
        "created_days_ago": st.integers(min_value=0, max_value=90),
        "cancelled_days_ago": st.integers(min_value=0, max_value=90),
    }
)


def _book(campaigns: dict, g: dict, now: datetime, boundaries: list[datetime]) -> None:
    when = now - timedelta(minutes=g["minutes_ago"], seconds=g["seconds"])
    if g["anchor"] is not None:
        when = min(now, boundaries[g["anchor"]] + timedelta(seconds=g["near_seconds"]))
    number = next(_gift_numbers)
    external = f"hyp_{number}"
    ref = ledger_key(g["channel"], external)
    paid = f.book(
        LedgerEntry(
            stripe_ref=ref,
            channel=g["channel"],
            external_id=external,
            kind=EntryKind.PAYMENT.value,
            campaign_id=campaigns.get(g["currency"], campaigns["EUR"]).id,
            payment_ref=ref,
            frequency=g["frequency"],
            amount_minor=g["amount"],
            fee_minor=g["fee"],
            currency=g["currency"],
            settlement_currency="GBP" if g["settled"] is not None else None,
            settled_amount_minor=g["amount"] if g["currency"] == "GBP" else g["settled"],
            donor_email=g["email"],
            occurred_at=when,
        )
    )
    later = min(now, when + timedelta(minutes=g["later_minutes"]))
    if g["refund"]:
        f.refund(paid, g["amount"] * g["refund"] // 100, occurred_at=later)
    if g["dispute"]:
        f.movement(paid, EntryKind.DISPUTE_OPENED, -g["amount"], occurred_at=later, fee_minor=1500)


def _pledge(campaigns: dict, p: dict, now: datetime) -> None:
    created = now - timedelta(days=p["created_days_ago"], hours=3)
    cancelled = None
    if p["status"] == "cancelled":
        cancelled = now - timedelta(days=min(p["cancelled_days_ago"], p["created_days_ago"]))
    f.pledge(
        campaigns[p["currency"]],
        p["amount"],
        interval=p["interval"],
        status=p["status"],
        created_at=created,
        cancelled_at=cancelled,
    )


def recompute(window, per_euro: dict[str, Decimal] | None = None) -> dict:
    """The overview's figures for one window, straight from every ledger and pledge row."""
    out: dict = {}
    people_all: set = set()
    channels: dict = {}
    settled: dict = {}  # currency: [sum settled, rows not settled]
    for e in db.session.scalars(db.select(LedgerEntry)):
        if not window.start <= e.occurred_at < window.end:
            continue
        c = out.setdefault(e.currency, {"raised": 0, "net": 0, "gifts": 0, "people": set()})
        c["net"] += e.amount_minor - (e.fee_minor or 0)
        if e.kind == EntryKind.PAYMENT.value:
            key = (e.channel, e.currency)
            channels[key] = channels.get(key, 0) + e.amount_minor
            pair = settled.setdefault(e.currency, [0, 0])
            if e.settled_amount_minor is None:
                pair[1] += 1
            else:
                pair[0] += e.settled_amount_minor
            c["raised"] += e.amount_minor
            c["gifts"] += 1
            c["people"].add(e.donor_email or e.payment_ref)
            people_all.add(e.donor_email or e.payment_ref)
    for p in db.session.scalars(db.select(Pledge)):
        c = out.setdefault(p.currency, {"raised": 0, "net": 0, "gifts": 0, "people": set()})
        if window.start <= p.created_at < window.end and p.status != "incomplete":
            c["new"] = c.get("new", 0) + 1
        cancelled = p.status == "cancelled" and p.cancelled_at is not None
        if cancelled and window.start <= p.cancelled_at < window.end:
            c["lost"] = c.get("lost", 0) + 1
        live = p.status == "active" or (cancelled and p.cancelled_at >= window.end)
        if live and p.created_at < window.end:
            c["mrr"] = c.get("mrr", 0) + p.monthly_minor
    # One figure in GBP (the tests' settlement currency): GBP as it is; a currency whose
    # payments all settled at what they settled to; else its sum at the reference rates,
    # rounded half to even, or left out without them.
    combined = 0
    for code, (settled_sum, unsettled) in settled.items():
        raised = out[code]["raised"]
        if code == "GBP":
            combined += raised
        elif not unsettled:
            combined += settled_sum
        elif per_euro and code in per_euro:
            exact = Decimal(raised) / 100 * per_euro["GBP"] / per_euro[code] * 100
            combined += int(exact.quantize(Decimal(1), ROUND_HALF_EVEN))
    return {
        "currencies": out,
        "people": len(people_all),
        "channels": channels,
        "combined": combined,
    }


def _as_shown(overview, attribute: str) -> dict:
    return {
        c.currency: (getattr(c, attribute).value, getattr(c, attribute).previous)
        for c in overview.currencies
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gifts=st.lists(gift, max_size=10),
    pledges=st.lists(pledge_case, max_size=4),
    zone=st.sampled_from(ZONES),
    period=st.sampled_from(["month", "last_month", "ytd", "range"]),
    now_offset_hours=st.integers(min_value=0, max_value=24 * 300),
    range_days=st.integers(min_value=0, max_value=60),
    rates=st.sampled_from(["none", "all", "no-usd"]),
)
def test_overview_figures_equal_the_ledger_recomputed_for_any_mix(
    app, monkeypatch, gifts, pledges, zone, period, now_offset_hours, range_days, rates
):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", zone)
    now = datetime(2026, 1, 1, 0, 7, 13, tzinfo=UTC) + timedelta(hours=now_offset_hours)
    with app.app_context():
        empty_all_tables()
        campaigns = {"EUR": f.make_campaign("euro", "EUR"), "GBP": f.make_campaign("pound", "GBP")}
        last = (now - timedelta(days=3)).date()
        chosen = choose_period(period, last - timedelta(days=range_days), last, now=now)
        windows = (chosen.current, chosen.previous)
        boundaries = [moment for w in windows for moment in (w.start, w.end)]
        for g in gifts:
            _book(campaigns, g, now, boundaries)
        for p in pledges:
            _pledge(campaigns, p, now)
        per_euro = _store_rates(rates)
        overview = build_overview(chosen)
        current = recompute(chosen.current, per_euro)
        previous = recompute(chosen.previous, per_euro)
        codes = set(current["currencies"]) | set(previous["currencies"])
        for name in ("raised", "net", "gifts", "new", "lost", "mrr"):
            attribute = {
                "new": "new_recurring",
                "lost": "lost_recurring",
                "mrr": "monthly_recurring",
            }.get(name, name)
            shown = _as_shown(overview, attribute)
            for code in codes:
                expected = (
                    current["currencies"].get(code, {}).get(name, 0),
                    previous["currencies"].get(code, {}).get(name, 0),
                )
                assert shown.get(code, (0, 0)) == expected, (name, code)
        people = _as_shown(overview, "people")
        for code in codes:
            assert people.get(code, (0, 0)) == (
                len(current["currencies"].get(code, {}).get("people", ())),
                len(previous["currencies"].get(code, {}).get("people", ())),
            )
        assert (overview.people.value, overview.people.previous) == (
            current["people"],
            previous["people"],
        )
        combined = overview.combined
        assert combined.currency == "GBP"
        assert (combined.raised.value, combined.raised.previous) == (
            current["combined"],
            previous["combined"],
        )
        lines = {(line.channel, line.currency): line.raised for line in combined.channels}
        for key in set(current["channels"]) | set(previous["channels"]):
            assert (lines[key].value, lines[key].previous) == (
                current["channels"].get(key, 0),
                previous["channels"].get(key, 0),
            ), key
        assert len(lines) == len(set(current["channels"]) | set(previous["channels"]))
        beneath = {code: (fig.value, fig.previous) for code, fig in combined.currencies}
        assert beneath == {
            code: (
                current["currencies"].get(code, {}).get("raised", 0),
                previous["currencies"].get(code, {}).get("raised", 0),
            )
            for code in codes
            if current["currencies"].get(code, {}).get("gifts")
            or previous["currencies"].get(code, {}).get("gifts")
        }
        db.session.rollback()


def _store_rates(which: str) -> dict[str, Decimal] | None:
    """Reference rates: none, every currency, or all but USD; an older day is ignored."""
    if which == "none":
        return None
    newest = {"GBP": Decimal("0.8432"), "USD": Decimal("1.0871")}
    if which == "no-usd":
        del newest["USD"]
    for code, rate in newest.items():
        db.session.add(ExchangeRate(day=date(2026, 1, 5), currency=code, per_euro=rate))
    db.session.add(ExchangeRate(day=date(2025, 12, 1), currency="USD", per_euro=Decimal("2")))
    db.session.commit()
    return newest | {"EUR": Decimal(1)}


# --- Periods in the reporting time zone ---------------------------------------------------------


@pytest.fixture
def zone(app, monkeypatch):
    def use(name: str) -> None:
        monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", name)

    return use


def test_this_month_compares_with_the_same_wall_time_last_month_across_a_dst_change(app, zone):
    zone("America/New_York")  # clocks went forward on 8 March 2026
    with app.app_context():
        chosen = choose_period("month", now=datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    assert chosen.current.start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # midnight EST
    assert chosen.current.end == datetime(2026, 3, 21, 4, 0, tzinfo=UTC)  # today, all of it
    assert chosen.previous.start == datetime(2026, 2, 1, 5, 0, tzinfo=UTC)
    assert chosen.previous.end == datetime(2026, 2, 20, 13, 0, tzinfo=UTC)  # now: 08:00, EST


def test_last_month_runs_between_local_midnights_when_the_clocks_go_back(app, zone):
    zone("Europe/London")  # BST ended on 25 October 2026
    with app.app_context():
        chosen = choose_period("last_month", now=datetime(2026, 11, 15, 9, 0, tzinfo=UTC))
    assert (chosen.current.first, chosen.current.last) == (date(2026, 10, 1), date(2026, 10, 31))
    assert chosen.current.start == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)  # midnight BST
    assert chosen.current.end == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # midnight GMT
    assert chosen.previous.start == datetime(2026, 8, 31, 23, 0, tzinfo=UTC)
    assert chosen.previous.end == chosen.current.start


def test_the_last_day_of_a_longer_month_compares_with_the_last_day_of_a_shorter_one(app, zone):
    zone("UTC")
    with app.app_context():
        chosen = choose_period("month", now=datetime(2026, 3, 31, 18, 0, tzinfo=UTC))
    assert chosen.previous.last == date(2026, 2, 28)
    assert chosen.previous.end == datetime(2026, 2, 28, 18, 0, tzinfo=UTC)


def test_a_gift_late_on_the_last_evening_in_new_york_counts_in_that_month(app, zone):
    zone("America/New_York")
    travel = time_machine.travel(datetime(2026, 11, 15, 12, 0, tzinfo=UTC), tick=False)
    with travel, app.app_context():
        campaign = f.make_campaign()
        # 03:30 UTC on 1 November is 23:30 EDT on 31 October.
        f.payment(campaign, 1234, occurred_at=datetime(2026, 11, 1, 3, 30, tzinfo=UTC))
        f.payment(campaign, 4321, occurred_at=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))
        october = build_overview(choose_period("last_month"))
        november = build_overview(choose_period("month"))
    assert october.currencies[0].raised.value == 1234
    assert november.currencies[0].raised.value == 4321
    assert november.currencies[0].raised.previous == 0  # nothing by 15 October
    assert october.currencies[0].raised.previous == 0


# --- The page ------------------------------------------------------------------------------


@pytest.fixture
def month_of_gifts(app, zone):
    zone("Europe/London")
    with time_machine.travel(NOW, tick=False):
        with app.app_context():
            euro = f.make_campaign("euro-appeal", "EUR", title="Euro <appeal>", goal_minor=10_000)
            f.make_campaign("closed-appeal", "EUR", is_open=False)
            pound = f.make_campaign("pound-appeal", "GBP")
            f.payment(euro, 2500, fee_minor=100, email="ann@example.org", occurred_at=NOW)
            f.payment(euro, 1000, email="ann@example.org", occurred_at=NOW - timedelta(days=3))
            f.payment(
                euro,
                700,
                frequency="monthly",
                email="bob@example.org",
                occurred_at=NOW - timedelta(days=20),
            )
            lost = f.payment(pound, 3000, email="cy@example.org", occurred_at=NOW)
            f.refund(lost, 3000, occurred_at=NOW)
            f.pledge(euro, 700, email="bob@example.org", created_at=NOW - timedelta(days=2))
            f.pledge(
                pound,
                2400,
                interval="year",
                status="cancelled",
                created_at=NOW - timedelta(days=70),
                cancelled_at=NOW - timedelta(days=1),
            )
        yield


def _link_of(page: str, name: str) -> str:
    match = re.search(rf'<a href="([^"]+)" data-figure="{re.escape(name)}"', page)
    assert match, f"{name} is not a link"
    return html.unescape(match.group(1))


def test_the_overview_shows_this_month_against_last_month(staff_client, month_of_gifts):
    with time_machine.travel(NOW, tick=False):
        page = staff_client("viewer").get("/staff/").get_data(as_text=True)
    assert figure_minor(page, "overview-EUR-raised", "EUR") == 3500
    assert figure_minor(page, "overview-EUR-net", "EUR") == 3400
    assert figure_text(page, "overview-EUR-people") == "1"
    assert figure_text(page, "overview-people") == "2"  # ann and cy, whatever the currency
    assert figure_text(page, "overview-EUR-new-recurring") == "1"
    assert figure_text(page, "overview-GBP-lost-recurring") == "1"
    assert figure_minor(page, "overview-EUR-mrr", "EUR") == 700
    assert figure_minor(page, "overview-GBP-mrr", "GBP") == 0
    assert figure_minor(page, "overview-GBP-net", "GBP") == 0
    # February up to 18 Feb 15:07 had bob's 700 (on the 26th, so not by then): nothing.
    eur = page.split('id="overview-EUR"')[1].split("</section>")[0]
    assert "+€35.00" in eur
    assert "Euro &lt;appeal&gt;" in page and "closed-appeal" not in page.split("Daily totals")[0]
    assert "€42.00 of €100.00" in page  # all time, as the public page shows


def test_every_figure_links_to_the_donations_behind_it(staff_client, month_of_gifts):
    client = staff_client("viewer")
    with time_machine.travel(NOW, tick=False):
        page = client.get("/staff/").get_data(as_text=True)
        link = _link_of(page, "overview-EUR-raised")
        query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
        assert query == {"date_from": "2026-03-01", "date_to": "2026-03-18", "currency": "EUR"}
        assert client.get(link).status_code == 200
        rows = csv_rows(client.get(link.replace("/donations?", "/donations.csv?")).get_data(True))
        assert sum(int(r["amount_minor"]) for r in rows) == 3500
        assert sum(int(r["net_minor"]) for r in rows) == 3400
        recurring = _link_of(page, "overview-EUR-mrr")
        assert "frequency=recurring" in recurring
        rows = csv_rows(
            client.get(recurring.replace("/donations?", "/donations.csv?")).get_data(True)
        )
        assert rows == []  # bob's monthly gift was in February
        for name in ("overview-people", "overview-GBP-lost-recurring", "overview-EUR-gifts"):
            assert client.get(_link_of(page, name)).status_code == 200


def test_staff_choose_last_month_and_the_chart_follows(staff_client, month_of_gifts):
    with time_machine.travel(NOW, tick=False):
        page = staff_client("viewer").get("/staff/?period=last_month").get_data(as_text=True)
    assert "Last month: 1 Feb 2026 – 28 Feb 2026" in page
    assert figure_minor(page, "overview-EUR-raised", "EUR") == 700
    assert figure_minor(page, "range-total-EUR", "EUR") == 700
    assert '<time datetime="2026-02-01">' in page and '<time datetime="2026-03-01">' not in page


def test_year_to_date_and_a_custom_range(staff_client, month_of_gifts):
    client = staff_client("viewer")
    with time_machine.travel(NOW, tick=False):
        ytd = client.get("/staff/?period=ytd").get_data(as_text=True)
        custom = client.get("/staff/?period=range&start=2026-03-15&end=2026-03-18")
    assert figure_minor(ytd, "overview-EUR-raised", "EUR") == 4200
    body = custom.get_data(as_text=True)
    assert custom.status_code == 200
    assert figure_minor(body, "overview-EUR-raised", "EUR") == 3500
    assert figure_minor(body, "overview-GBP-raised", "GBP") == 3000


def test_a_bad_period_is_explained_not_an_error(staff_client, month_of_gifts):
    client = staff_client("viewer")
    response = client.get("/staff/?period=decade")
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = client.get("/staff/?period=range&start=2026-03-18&end=2026-03-01")
    assert response.status_code == 400


def test_people_counts_are_kept_for_a_minute_in_the_shared_cache(app, monkeypatch, zone):
    zone("UTC")
    monkeypatch.setitem(app.config, "OVERVIEW_CACHE_SECONDS", 60)
    with app.app_context():
        get_cache().clear()  # the app's LocalCache (no REDIS_URL in tests)
        campaign = f.make_campaign()
        f.payment(campaign, 1000, email="first@example.org", occurred_at=NOW - timedelta(hours=1))
        chosen = choose_period("month", now=NOW)
        first = build_overview(chosen)
        f.payment(campaign, 1000, email="second@example.org", occurred_at=NOW)
        again = build_overview(chosen)
    assert first.people.value == again.people.value == 1  # the count computed a moment ago
    assert again.currencies[0].raised.value == 2000  # money is never cached here


def test_the_overview_names_the_channels_money_came_through(app, staff_client):
    from fundraiser.payments import offline

    with app.app_context():
        campaign = f.make_campaign("via", "EUR")
        f.payment(campaign, 1_000)
    client = staff_client("viewer")
    assert "via Stripe</span>" in client.get("/staff/").get_data(as_text=True)
    with app.app_context():
        gift = offline.OfflineGift("via", "5", "EUR", date(2026, 3, 1))
        offline.record_offline(gift, offline.recording_staff(f.make_staff("staff").email))
    assert "via Stripe, Offline</span>" in client.get("/staff/").get_data(as_text=True)


def test_one_combined_figure_with_each_currency_and_channel_beneath(
    app, staff_client, month_of_gifts
):
    client = staff_client("viewer")
    with time_machine.travel(NOW, tick=False):
        page = client.get("/staff/").get_data(as_text=True)
        # No reference rates and the euro gifts not settled: only GBP (the settlement
        # currency) counts, and the page says what was left out.
        assert figure_minor(page, "overview-combined-raised", "GBP") == 3000
        assert "Left out for want of a reference rate: EUR" in page
        assert figure_minor(page, "overview-combined-EUR", "EUR") == 3500
        assert figure_minor(page, "overview-channel-stripe-EUR", "EUR") == 3500
        link = _link_of(page, "overview-channel-stripe-EUR")
        query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
        assert query == {
            "date_from": "2026-03-01",
            "date_to": "2026-03-18",
            "currency": "EUR",
            "channel": "stripe",
        }
        rows = csv_rows(client.get(link.replace("/donations?", "/donations.csv?")).get_data(True))
        assert sum(int(r["amount_minor"]) for r in rows) == 3500
        with app.app_context():
            db.session.add(
                ExchangeRate(day=date(2026, 3, 2), currency="GBP", per_euro=Decimal("0.85"))
            )
            db.session.commit()
        page = client.get("/staff/").get_data(as_text=True)
    # €35.00 at 0.85 is £29.75, beside the £30.00 given in pounds.
    assert figure_minor(page, "overview-combined-raised", "GBP") == 3000 + 2975
    assert "ECB reference rates of 2026-03-02" in page and "Left out" not in page


def test_the_headline_supporter_counts_are_kept_for_a_minute_then_counted_again(
    app, monkeypatch, zone
):
    zone("UTC")
    monkeypatch.setitem(app.config, "OVERVIEW_CACHE_SECONDS", 60)
    with app.app_context():
        get_cache().clear()
        campaign = f.make_campaign()
        f.payment(campaign, 1000, email="first@example.org", occurred_at=NOW - timedelta(hours=1))
        first = reports.headline(now=NOW)
        f.payment(campaign, 1000, currency="GBP", email="second@example.org", occurred_at=NOW)
        again = reports.headline(now=NOW)
        get_cache().clear()  # what a minute later looks like
        later = reports.headline(now=NOW)
    assert first.supporters == again.supporters == 1  # the scan of every donor, reused
    assert [c.currency for c in again.currencies] == ["EUR", "GBP"]  # money is never cached
    assert later.supporters == 2
    assert {c.currency: c.supporters for c in later.currencies} == {"EUR": 1, "GBP": 1}
