"""The pledge page says plainly what a supporter pays, what a break skips, and asks before
cancelling."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from fundraiser.accounts.giving import _add_interval, pause_schedule
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, Pledge
from fundraiser.money import fee_cover
from tests.accounts.conftest import add_pledge, login, make_supporter

EMAIL = "pledger@example.org"


def signed_in_with_pledge(app, client, campaign, **changes) -> int:
    with app.app_context():
        supporter = make_supporter(EMAIL)
        pledge = add_pledge(campaign, EMAIL, supporter_id=supporter.id)
        for key, value in changes.items():
            setattr(pledge, key, value)
        db.session.commit()
        pledge_id = pledge.id
    login(client, EMAIL)
    return pledge_id


def test_the_change_box_holds_the_current_amount_and_fees_show_apart(app, client, campaign):
    extra = fee_cover(1000, "EUR")
    pledge_id = signed_in_with_pledge(app, client, campaign, amount_minor=1000 + extra)
    with app.app_context():
        pledge = db.session.get(Pledge, pledge_id)
        intent = DonationIntent(
            campaign_id=pledge.campaign_id, amount_minor=1000, fee_cover_minor=extra,
            currency="EUR", frequency="monthly", email=EMAIL, status="paid",
        )  # fmt: skip
        db.session.add(intent)
        db.session.flush()
        pledge.intent_id = intent.id
        db.session.commit()
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    total = f"{(1000 + extra) / 100:.2f}"
    assert f"€{total}</strong> every month" in page
    assert f"(€10.00 + €{extra / 100:.2f} fees)" in page
    box = re.search(r'<input[^>]*name="amount"[^>]*>', page).group(0)
    assert f'value="{total}"' in box


def test_a_pause_says_which_payments_are_skipped_and_when_the_next_is_taken(app, campaign):
    with app.app_context():
        pledge = Pledge(
            status="paused", interval="month",
            next_payment_at=datetime(2026, 12, 29, 12, tzinfo=UTC),
            paused_until=datetime(2027, 2, 10, 12, tzinfo=UTC),
        )  # fmt: skip
        schedule = pause_schedule(pledge)
    assert schedule.skipped == [date(2026, 12, 29), date(2027, 1, 29)]
    assert schedule.next_taken == date(2027, 2, 28)  # 29 February does not exist in 2027


def test_month_steps_keep_the_day_or_take_the_months_last():
    assert _add_interval(date(2027, 1, 31), "month", 1) == date(2027, 2, 28)
    assert _add_interval(date(2026, 12, 29), "month", 2) == date(2027, 2, 28)
    assert _add_interval(date(2026, 12, 29), "year", 1) == date(2027, 12, 29)


def test_the_pledge_page_words_a_pause_plainly(app, client, campaign):
    pledge_id = signed_in_with_pledge(
        app, client, campaign, status="paused",
        next_payment_at=datetime(2026, 12, 29, 12, tzinfo=UTC),
        paused_until=datetime(2027, 1, 5, 12, tzinfo=UTC),
    )  # fmt: skip
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    assert "The payment due on 29 December 2026 is skipped." in page
    assert "Your next payment is taken on <strong>29 January 2027</strong>." in page
    assert "Paused until" not in page


def test_cancelling_asks_first_and_keeping_the_gift_changes_nothing(app, client, campaign):
    pledge_id = signed_in_with_pledge(app, client, campaign)
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    asked = client.post(
        f"/account/pledges/{pledge_id}/cancel", data={"csrf_token": token, "reason": "Money"}
    )
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Cancel your regular gift?" in text
    assert 'name="confirmed" value="yes"' in text and 'name="reason" value="Money"' in text
    assert "Keep my gift" in text
    with app.app_context():
        assert db.session.get(Pledge, pledge_id).status == "active"
