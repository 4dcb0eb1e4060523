"""The database and the models guard the books: CHECK constraints on ledger rows, status
histories, illegal status moves, and one rule for a gift's status."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select
from sqlalchemy.exc import DataError, IntegrityError

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import (
    DonationIntent,
    IllegalStatusMove,
    IntentStatus,
    IntentStatusChange,
    PledgeStatus,
    PledgeStatusChange,
    utcnow,
)
from fundraiser.payments import ledger, ledger_writes
from fundraiser.payments.gifts import GiftStatus, gift_state, status_sql
from tests.accounts.conftest import add_pledge


def _row(campaign_id: int, **overrides) -> dict:
    now = utcnow()
    return {
        "stripe_ref": "pi_guard",
        "kind": "payment",
        "campaign_id": campaign_id,
        "payment_ref": "pi_guard",
        "frequency": "one-time",
        "amount_minor": 1000,
        "currency": "EUR",
        "donor_name": "",
        "occurred_at": now,
        "created_at": now,
        **overrides,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"amount_minor": -1000},  # a payment takes money in
        {"kind": "refund", "amount_minor": 500},  # a refund gives it back
        {"kind": "dispute_opened", "amount_minor": 500},
        {"kind": "dispute_won", "amount_minor": -500},
        {"kind": "dispute_lost", "amount_minor": 10},
        {"fee_minor": -1},
        {"currency": "eur"},
        {"currency": "EURO"},
        {"currency": "E1R"},
    ],
)
def test_the_database_refuses_impossible_ledger_rows(ctx, campaign, bad):
    campaign_id = campaign_by_slug(campaign).id
    # PostgreSQL refuses a four-letter code by the column's width before any CHECK.
    with pytest.raises((IntegrityError, DataError)):
        ledger.change("test:bad", lambda tx: ledger_writes.book_entry(_row(campaign_id, **bad), tx))
    assert ledger.change("test:good", lambda tx: ledger_writes.book_entry(_row(campaign_id), tx))


def test_pledge_status_moves_are_kept_and_a_dead_pledge_stays_dead(ctx, campaign):
    pledge = add_pledge(campaign, "history@example.org", status="incomplete")
    assert pledge.move_to(PledgeStatus.ACTIVE, "stripe:evt_1")
    assert not pledge.move_to(PledgeStatus.INCOMPLETE, "stripe:evt_0")  # a late snapshot
    assert pledge.move_to(PledgeStatus.CANCELLED, "supporter:1")
    db.session.commit()
    with pytest.raises(IllegalStatusMove):
        pledge.move_to(PledgeStatus.ACTIVE, "stripe:evt_2")
    moves = db.session.execute(
        select(
            PledgeStatusChange.from_status, PledgeStatusChange.to_status, PledgeStatusChange.actor
        ).order_by(PledgeStatusChange.id)
    ).all()
    assert moves == [
        ("incomplete", "active", "stripe:evt_1"),
        ("active", "cancelled", "supporter:1"),
    ]


def test_intent_status_moves_are_kept_and_illegal_ones_raise(ctx, campaign):
    intent = DonationIntent(
        campaign=campaign_by_slug(campaign), amount_minor=500, currency="EUR", frequency="one-time"
    )
    db.session.add(intent)
    assert intent.move_to(IntentStatus.OPEN, "reader:donate")
    assert intent.move_to(IntentStatus.PAID, "stripe:evt_1")
    assert not intent.move_to(IntentStatus.COMPLETED, "stripe:evt_0")  # arrived late
    db.session.commit()
    with pytest.raises(IllegalStatusMove):
        intent.move_to(IntentStatus.FAILED, "stripe:evt_2")
    moves = db.session.scalars(select(IntentStatusChange.to_status)).all()
    assert moves == ["open", "paid"]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amount=st.integers(1, 10_000),
    refunded=st.integers(0, 10_000),
    withdrawn=st.sampled_from([0, 1, 500, 10_000]),
    pending=st.integers(0, 10_000),
)
def test_gift_status_is_one_rule_in_python_and_sql(ctx, amount, refunded, withdrawn, pending):
    state = gift_state(amount, refunded, withdrawn, pending)
    in_sql = db.session.scalar(
        select(status_sql(literal(amount), literal(refunded), literal(withdrawn)))
    )
    assert in_sql == state.status.value
    assert state.refundable_minor <= max(0, amount - refunded)
    if state.status is GiftStatus.DISPUTED:
        assert state.refundable_minor == 0
    assert 0 <= state.kept_minor <= amount


def test_a_won_dispute_is_paid_everywhere():
    # opened (-2000) then won (+2000): nothing withdrawn now
    assert gift_state(2000, 0, 0).status is GiftStatus.PAID
    assert gift_state(2000, 0, 2000).status is GiftStatus.DISPUTED
