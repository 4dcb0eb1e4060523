"""Staff mail: an alert once per gift above the threshold (however often Stripe tells us about
it), and the weekly summary sent by `flask dashboard weekly-summary`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from fundraiser.dashboard.staff_mail import alert_threshold
from tests.accounts.conftest import Mailbox
from tests.dashboard import factories as f
from tests.helpers import donate, pay, post_event, session_id_from, wait_for

STAFF = "desk@staff.example.org"
OTHER = "boss@staff.example.org"


@pytest.fixture
def mailbox(app) -> Mailbox:
    box = Mailbox(Path(app.config["MAIL_OUTBOX"]))
    box.clear()
    return box


@pytest.fixture
def staff_mail(app, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_REPORT_EMAILS", f"{STAFF}, {OTHER}")
    monkeypatch.setitem(app.config, "LARGE_GIFT_ALERT", "100")


def alerts(box) -> list:
    return [m for m in box.messages(STAFF) if m["Subject"].startswith("Large gift")]


def test_a_large_gift_alerts_staff_once_however_often_stripe_reports_it(
    app, client, campaign, stripe_sim, staff_mail, mailbox
):
    stripe_sim.sim.faults.update({"drop_webhooks": 10_000})
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="250")))
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="99")))
    stripe_sim.sim.faults.reset()
    events = stripe_sim.sim.events()
    for _ in range(2):  # every event, twice: replays and several events for one payment
        for event in events:
            assert post_event(client, event).status_code == 200
    with app.app_context():
        wait_for(lambda: len(alerts(mailbox)) >= 1)
    found = alerts(mailbox)
    assert len(found) == 1
    text = mailbox.text(found[0])
    assert "€250.00" in text and "via Stripe" in text and "One-off" in text
    assert "/staff/donations/pi_" in text
    assert len([m for m in mailbox.messages(OTHER) if "Large gift" in m["Subject"]]) == 1
    assert not any("€99.00" in mailbox.text(m) for m in mailbox.messages(STAFF))


def test_no_alert_without_recipients_or_threshold(app, campaign, monkeypatch, mailbox):
    from fundraiser.payments import after_commit
    from tests.factories import add_payment

    monkeypatch.setitem(app.config, "STAFF_REPORT_EMAILS", STAFF)
    monkeypatch.setitem(app.config, "LARGE_GIFT_ALERT", "")
    with app.app_context():
        entry = add_payment(campaign, 1_000_000)
        after_commit.run([("payment_recorded", {"entry_id": entry.id})])
    assert alerts(mailbox) == []


@pytest.mark.parametrize(
    ("setting", "currency", "expected"),
    [
        ("500", "EUR", 50_000),
        ("500", "JPY", 500),
        ("EUR:500, GBP:400.50", "GBP", 40_050),
        ("EUR:500,GBP:400", "USD", None),
        ("", "EUR", None),
        ("lots", "EUR", None),
    ],
)
def test_the_threshold_is_read_per_currency(app, monkeypatch, setting, currency, expected):
    monkeypatch.setitem(app.config, "LARGE_GIFT_ALERT", setting)
    with app.app_context():
        assert alert_threshold(currency) == expected


NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # a Monday morning in London


def test_the_weekly_summary_mails_last_weeks_figures(app, runner, staff_mail, mailbox):
    with time_machine.travel(NOW, tick=False):
        with app.app_context():
            euro = f.make_campaign("weekly", "EUR", title="Weekly appeal", goal_minor=100_000)
            f.payment(euro, 2500, email="a@example.org", occurred_at=NOW - timedelta(days=2))
            f.payment(euro, 1500, email="b@example.org", occurred_at=NOW - timedelta(days=6))
            f.payment(euro, 9900, email="c@example.org", occurred_at=NOW - timedelta(days=10))
            f.payment(euro, 7777, email="d@example.org", occurred_at=NOW - timedelta(hours=3))
        result = runner.invoke(args=["dashboard", "weekly-summary"])
    assert result.exit_code == 0, result.output
    assert "sent to 2 recipient(s)" in result.output
    mail = mailbox.last(STAFF)
    text = mailbox.text(mail)
    assert mail["Subject"] == "Last week: 9 Mar – 15 Mar 2026"
    assert "Raised: €40.00 (was €99.00)" in text  # today's €77.77 waits for next week
    assert "People who gave: 2 (was 1)" in text
    assert "Weekly appeal: €216.77 of €1,000.00" in text
    assert "http://localhost/staff/" in text
    assert "€40.00" in mailbox.html(mail)


def test_the_weekly_summary_without_recipients_sends_nothing(app, runner, mailbox):
    result = runner.invoke(args=["dashboard", "weekly-summary"])
    assert result.exit_code == 0
    assert "no summary sent" in result.output
    assert mailbox.messages() == []
