"""The ledger's roll-ups always equal a recomputation from the ledger, however rows arrive."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from fundraiser.accounts.privacy import delete_account
from fundraiser.dashboard import reports
from fundraiser.dashboard.periods import Period
from fundraiser.extensions import db
from fundraiser.models import (
    EntryKind,
    LedgerDonor,
    LedgerDonorKey,
    LedgerEntry,
    LedgerTotal,
    Supporter,
    utcnow,
)
from fundraiser.payments import ledger, ledger_writes, rollups
from tests.conftest import empty_all_tables
from tests.dashboard import factories as f
from tests.helpers import donate, pay, post_event, session_id_from, sim_control, stripe_client

START = datetime(2026, 3, 1, 23, 50, tzinfo=UTC)


def assert_rollups_match_the_ledger() -> None:
    """A rebuild from the ledger (INSERT … SELECT) changes no roll-up row."""
    before = rollups.snapshot()
    rollups.rebuild()
    after = rollups.snapshot()
    db.session.rollback()
    assert rollups.differing_rows(before, after) == dict.fromkeys(before, 0)
    assert any(after.values()) or not db.session.scalar(select(LedgerEntry.id).limit(1))


def figures_from_the_ledger() -> dict:
    """What the headline shows, worked out in Python from every ledger row."""
    entries = list(db.session.scalars(select(LedgerEntry)))
    payments = [e for e in entries if e.kind == EntryKind.PAYMENT.value]
    by_currency: dict[str, dict] = {}
    for currency in {e.currency for e in entries}:
        mine = [e for e in entries if e.currency == currency]
        paid = sorted(e.amount_minor for e in payments if e.currency == currency)
        middle = (paid[(len(paid) - 1) // 2] + paid[len(paid) // 2]) if paid else 0
        by_currency[currency] = {
            "gross": sum(paid),
            "fees": sum(e.fee_minor or 0 for e in mine),
            "refunds": -sum(e.amount_minor for e in mine if e.kind == "refund"),
            "disputes": -sum(e.amount_minor for e in mine if e.kind.startswith("dispute")),
            "payments": len(paid),
            "median": reports.round_half_up(middle, 2),
            "donors": len(
                {e.donor_email or e.payment_ref for e in payments if e.currency == currency}
            ),
        }
    donors = {e.donor_email or e.payment_ref for e in payments}
    return {"currencies": by_currency, "donors": len(donors)}


def figures_from_the_rollups() -> dict:
    all_time = reports.period_figures([Period("all", "All time", None)])
    overall, per_currency = reports.supporter_counts()
    stats = reports.gift_stats()
    by_currency = {}
    for currency, periods in all_time.items():
        figures = periods["all"]
        by_currency[currency] = {
            "gross": figures.gross_minor,
            "fees": figures.fees_minor,
            "refunds": figures.refunds_minor,
            "disputes": figures.disputes_minor,
            "payments": figures.payments,
            "median": stats.get(currency, (0, 0, 0))[2],
            "donors": per_currency.get(currency, 0),
        }
    return {"currencies": by_currency, "donors": overall}


# --- Any mix of movements, any order, duplicates included ---------------------------------------

payments = st.fixed_dictionaries(
    {
        "campaign": st.sampled_from(["one", "two"]),
        "currency": st.sampled_from(["EUR", "GBP", "JPY"]),
        "amount": st.sampled_from([500, 1000, 1000, 2500, 3333, 10000]),
        "fee": st.none() | st.integers(0, 300),
        "frequency": st.sampled_from(["one-time", "monthly", "yearly"]),
        "email": st.none() | st.sampled_from(["ann@example.org", "bob@example.org"]),
        "minutes": st.integers(0, 3 * 24 * 60),
    }
)
follow_ups = st.tuples(
    st.sampled_from(["refund", "opened", "won", "lost"]),
    st.integers(0, 20),  # which payment (modulo how many there are)
    st.integers(0, 3),  # which refund or dispute id: repeats are redeliveries
    st.integers(1, 2000),
)


def apply_follow_up(paid: list[LedgerEntry], step: tuple) -> None:
    action, which, number, amount = step
    payment = paid[which % len(paid)]
    if action == "refund":
        refund = {"id": f"re_{payment.id}_{number}", "status": "succeeded", "amount": amount}
        ledger.change("test", lambda tx: ledger_writes.record_refund(refund, payment, tx))
    else:
        status = {"opened": "needs_response", "won": "won", "lost": "lost"}[action]
        dispute = {"id": f"dp_{payment.id}_{number}", "status": status, "amount": amount}
        ledger.change("test", lambda tx: ledger_writes.record_dispute_step(dispute, payment, tx))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    gifts=st.lists(payments, min_size=1, max_size=12),
    steps=st.lists(follow_ups, max_size=12),
)
def test_rollups_equal_a_recomputation_after_any_mix_of_movements(app, gifts, steps):
    with app.app_context():
        empty_all_tables()
        campaigns = {slug: f.make_campaign(slug) for slug in ("one", "two")}
        paid = [
            f.payment(
                campaigns[gift["campaign"]],
                gift["amount"],
                currency=gift["currency"],
                fee_minor=gift["fee"],
                frequency=gift["frequency"],
                email=gift["email"],
                occurred_at=START + timedelta(minutes=gift["minutes"]),
            )
            for gift in gifts
        ]
        for step in steps:
            apply_follow_up(paid, step)
        assert_rollups_match_the_ledger()
        assert figures_from_the_rollups() == figures_from_the_ledger()


def test_payments_refunds_and_disputes_through_webhooks_replayed_count_once(
    app, client, campaign, stripe_sim
):
    """The real path: the simulator's events, each delivered twice and out of order."""
    stripe_sim.sim.faults.update({"drop_webhooks": 10_000})
    for amount, frequency in (("25", "one-time"), ("10", "monthly"), ("40", "one-time")):
        pay(stripe_sim, session_id_from(donate(client, campaign, amount, frequency)))
    events = stripe_sim.sim.events()
    intents = [e["data"]["object"] for e in events if e["type"] == "payment_intent.succeeded"]
    stripe_client(stripe_sim).v1.refunds.create(
        params={"payment_intent": intents[0]["id"], "amount": 700}
    )
    charge = intents[-1]["latest_charge"]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    dispute = sim_control(stripe_sim, f"charges/{charge_id}/dispute")
    sim_control(stripe_sim, f"disputes/{dispute['id']}/close", status="won")
    stripe_sim.sim.faults.reset()
    every = stripe_sim.sim.events()
    for event in [*reversed(every), *every]:
        assert post_event(client, event).status_code == 200
    with app.app_context():
        kinds = Counter(db.session.scalars(select(LedgerEntry.kind)))
        assert kinds == {"payment": 3, "refund": 1, "dispute_opened": 1, "dispute_won": 1}
        assert_rollups_match_the_ledger()
        assert figures_from_the_rollups() == figures_from_the_ledger()
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["raised_minor"] == 2500 + 1000 + 4000 - 700
    assert totals["supporters"] == 3


def test_erasing_a_donor_rekeys_their_gifts_and_forgets_the_email(app):
    with app.app_context():
        campaign = f.make_campaign()
        donor = Supporter(email="gone@example.org", email_verified_at=utcnow())
        db.session.add(donor)
        db.session.commit()
        for amount in (1000, 2000):
            f.payment(campaign, amount, email="gone@example.org")
        f.payment(campaign, 500, email="stays@example.org")
        assert reports.supporter_counts() == (2, {"EUR": 2})
        delete_account(db.session.get(Supporter, donor.id))
        db.session.commit()
        for model in (LedgerDonor, LedgerDonorKey):
            keys = set(db.session.scalars(select(model.donor_key)))
            assert "gone@example.org" not in keys and "stays@example.org" in keys
        # Each of the erased donor's payments now counts once, as the ledger always did.
        assert reports.supporter_counts() == (3, {"EUR": 3})
        assert_rollups_match_the_ledger()


def test_rebuild_command_reports_and_repairs_drifted_rollups(app, runner):
    with app.app_context():
        campaign = f.make_campaign()
        gift = f.payment(campaign, 2500, fee_minor=60)
        f.refund(gift, 500)
        db.session.execute(update(LedgerTotal).values(amount_minor=LedgerTotal.amount_minor + 1))
        db.session.execute(LedgerDonor.__table__.delete())
        db.session.commit()
    checked = runner.invoke(args=["dashboard", "rebuild-rollups", "--check"])
    assert checked.exit_code == 1
    assert "ledger_totals: 4 row(s) differ" in checked.output
    assert "ledger_donors: 1 row(s) differ" in checked.output
    rebuilt = runner.invoke(args=["dashboard", "rebuild-rollups"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "2 totals, 2 quarter hours, 1 donors (2 donor keys), 1 gift amounts" in rebuilt.output
    again = runner.invoke(args=["dashboard", "rebuild-rollups", "--check"])
    assert again.exit_code == 0 and "match the ledger" in again.output
    with app.app_context():
        assert reports.gift_stats() == {"EUR": (1, 2500, 2500)}


# --- Quarter hours: exact local days and period edges -------------------------------------------


@pytest.mark.parametrize(
    "zone, days",
    [
        # One London day; at +5:30 and +5:45 midnight falls inside a UTC hour.
        ("Europe/London", {date(2026, 3, 10): 7000}),
        ("Asia/Kolkata", {date(2026, 3, 10): 3000, date(2026, 3, 11): 4000}),
        ("Asia/Kathmandu", {date(2026, 3, 10): 1000, date(2026, 3, 11): 6000}),
    ],
)
def test_half_and_quarter_hour_zones_put_gifts_on_their_local_day(app, monkeypatch, zone, days):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", zone)
    with app.app_context():
        campaign = f.make_campaign()
        for minute, amount in ((14, 1000), (16, 2000), (31, 4000)):
            f.payment(campaign, amount, occurred_at=datetime(2026, 3, 10, 18, minute, tzinfo=UTC))
        series = reports.daily_totals(date(2026, 3, 9), date(2026, 3, 12))["EUR"]
        assert {d.day: d.total_minor for d in series if d.total_minor} == days


@pytest.mark.parametrize(
    "zone", ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
)
@pytest.mark.parametrize(
    "first, last",
    # Spring (clocks forward in New York, London; back at Lord Howe, by half an hour) and
    # autumn (back in London, then New York).
    [(date(2026, 3, 6), date(2026, 4, 7)), (date(2026, 10, 23), date(2026, 11, 3))],
)
def test_daily_totals_equal_the_ledger_summed_by_local_day_across_clock_changes(
    app, monkeypatch, zone, first, last
):
    """The chart's days (grouped in SQL, a run of whole days at a time) are the ledger's
    payments summed by their local day, one-off and recurring apart, around every change."""
    import random
    from zoneinfo import ZoneInfo

    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", zone)
    rng = random.Random(f"{zone}{first}")
    start = datetime.combine(first, datetime.min.time(), tzinfo=ZoneInfo(zone))
    with app.app_context():
        campaign = f.make_campaign()
        for n in range(120):
            # From a day before the range to a day after it, minutes either side of midnights.
            moment = start + timedelta(
                minutes=rng.randrange(-1440, ((last - first).days + 2) * 1440)
            )
            paid = f.payment(
                campaign,
                100 + n,
                occurred_at=moment.astimezone(UTC),
                frequency=rng.choice(["one-time", "monthly"]),
                email=f"d{n}@example.org",
            )
            if n % 7 == 0:
                f.refund(paid, 50, occurred_at=paid.occurred_at)
        expected: dict[date, list[int]] = {}
        for entry in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.kind == EntryKind.PAYMENT.value)
        ):
            day = entry.occurred_at.astimezone(ZoneInfo(zone)).date()
            if first <= day <= last:
                cell = expected.setdefault(day, [0, 0])
                cell[0 if entry.frequency == "one-time" else 1] += entry.amount_minor
        series = reports.daily_totals(first, last)["EUR"]
    assert [d.day for d in series] == [first + timedelta(days=n) for n in range(len(series))]
    assert series[-1].day == last
    got = {d.day: [d.one_off_minor, d.recurring_minor] for d in series if d.total_minor}
    assert got == expected and len(expected) > 10


def test_a_period_starting_mid_quarter_counts_the_minutes_after_its_start(app):
    now = datetime(2026, 3, 18, 15, 7, 30, tzinfo=UTC)
    start = now - timedelta(days=7)
    with app.app_context(), time_machine.travel(now, tick=False):
        campaign = f.make_campaign()
        for minutes, amount in ((-1, 1), (1, 20), (10, 300), (60, 4000)):
            f.payment(campaign, amount, occurred_at=start + timedelta(minutes=minutes))
        figures = reports.period_figures([Period("7d", "Last 7 days", start)])
        assert figures["EUR"]["7d"].gross_minor == 4320
        assert figures["EUR"]["7d"].payments == 3
