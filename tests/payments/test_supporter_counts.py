"""The landing page's supporters (ledger_supporter_counts, one row per campaign) stay what the
ledger says as donors give, give in another currency, are refunded, see a refund fail, are
erased and the roll-ups rebuilt; and payments and refunds of one donor in two currencies,
booked at once on PostgreSQL, neither deadlock nor leave the count wrong."""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from fundraiser.accounts.privacy import delete_account
from fundraiser.campaigns.services import _ledger_figures
from fundraiser.database import insert_new
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    EntryKind,
    LedgerEntry,
    LedgerSupporter,
    LedgerSupporterCount,
    Supporter,
    utcnow,
)
from fundraiser.payments import ledger, rollups
from tests.dashboard import factories as f
from tests.dashboard.test_rollups import assert_rollups_match_the_ledger
from tests.helpers import run_in_threads

_refs = itertools.count(1)
#: Both ways a row is counted: one statement (rollups.insert_entry: CTEs on PostgreSQL) and
#: the INSERT followed by add_entry (channel_books: other channels).
PATHS = ("statement", "separate")


def kept_from_the_ledger(campaign_id: int) -> dict[str, int]:
    """Per donor, in how many currencies their payments less refunds are above 0 (issue 13's
    rule, worked out in Python from every ledger row of the campaign)."""
    kept: dict[tuple[str, str], int] = defaultdict(int)
    rows = db.session.scalars(select(LedgerEntry).where(LedgerEntry.campaign_id == campaign_id))
    for entry in rows:
        if entry.kind in (EntryKind.PAYMENT.value, EntryKind.REFUND.value):
            kept[(entry.donor_email or entry.payment_ref, entry.currency)] += entry.amount_minor
    currencies: dict[str, int] = defaultdict(int)
    for (donor, _currency), amount in kept.items():
        if amount > 0:
            currencies[donor] += 1
    return dict(currencies)


def assert_counted_right(campaign_id: int, expected: int) -> None:
    """The count, the page's figure and each donor's row agree with the ledger (and with
    `expected`, so the recomputation itself is checked too)."""
    db.session.expire_all()
    donors = kept_from_the_ledger(campaign_id)
    assert len(donors) == expected
    counted = db.session.scalar(
        select(LedgerSupporterCount.supporters).where(
            LedgerSupporterCount.campaign_id == campaign_id
        )
    )
    assert (counted or 0) == expected
    assert _ledger_figures(db.session.get(Campaign, campaign_id))["supporters"] == expected
    rows = db.session.execute(
        select(LedgerSupporter.donor_key, LedgerSupporter.currencies).where(
            LedgerSupporter.campaign_id == campaign_id, LedgerSupporter.currencies != 0
        )
    )
    assert dict(rows.all()) == donors


def count_row(values: dict, path: str) -> int | None:
    """The ledger row and its roll-ups written one of the two ways; the row's id, or None
    when it was there already."""
    if path == "statement":
        return rollups.insert_entry(values)
    row_id = insert_new(LedgerEntry, values, ["stripe_ref"], "id")
    rollups.add_entry(values)
    return row_id


def book(values: dict, path: str) -> None:
    def work(tx):
        assert count_row(values, path) is not None
        tx.wrote = True

    ledger.change("test:supporters", work)


def payment_values(campaign_id: int, email: str | None, amount: int, currency: str, ref: str):
    """A one-off payment's ledger row."""
    return {
        "stripe_ref": ref,
        "kind": EntryKind.PAYMENT.value,
        "campaign_id": campaign_id,
        "payment_ref": ref,
        "frequency": "one-time",
        "amount_minor": amount,
        "currency": currency,
        "donor_email": email,
        "occurred_at": utcnow(),
    }


def pay(campaign_id: int, email: str | None, amount: int, currency: str, path: str) -> dict:
    values = payment_values(campaign_id, email, amount, currency, f"pi_supporters_{next(_refs)}")
    book(values, path)
    return values


def refund(paid: dict, amount: int, path: str, failed: bool = False) -> dict:
    """A refund of `amount` of the payment `paid`; `failed`: its reversal ("re_…:failed",
    positive, as ledger_writes.reverse_failed_refund books it)."""
    ref = f"re_supporters_{next(_refs)}"
    values = {
        **paid,
        "stripe_ref": f"{ref}:failed" if failed else ref,
        "kind": EntryKind.REFUND.value,
        "amount_minor": amount if failed else -amount,
        "occurred_at": utcnow(),
    }
    book(values, path)
    return values


@pytest.mark.parametrize("path", PATHS)
def test_supporters_follow_gifts_refunds_and_failed_refunds_in_any_currency(ctx, path):
    campaign = f.make_campaign().id
    alice = pay(campaign, "alice@example.org", 1000, "EUR", path)
    assert_counted_right(campaign, 1)
    alice_gbp = pay(campaign, "alice@example.org", 500, "GBP", path)
    assert_counted_right(campaign, 1)  # one donor, whatever the currency
    bob = pay(campaign, "bob@example.org", 700, "EUR", path)
    assert_counted_right(campaign, 2)
    refund(alice, 1000, path)
    assert_counted_right(campaign, 2)  # Alice still gives in pounds
    refund(alice_gbp, 200, path)
    assert_counted_right(campaign, 2)  # partly refunded: still a supporter
    last = refund(alice_gbp, 300, path)
    assert_counted_right(campaign, 1)  # every gift refunded: no longer counted
    refund(last, 300, path, failed=True)
    assert_counted_right(campaign, 2)  # that refund failed: she kept 300 with us after all
    pay(campaign, None, 900, "EUR", path)
    assert_counted_right(campaign, 3)  # no email: counted by the payment
    refund(bob, 700, path)
    assert_counted_right(campaign, 2)
    pay(campaign, "bob@example.org", 100, "USD", path)
    assert_counted_right(campaign, 3)  # back, in another currency
    other = f.make_campaign("other").id
    pay(other, "bob@example.org", 100, "EUR", path)
    assert_counted_right(other, 1)  # per campaign
    assert_counted_right(campaign, 3)
    assert_rollups_match_the_ledger()


def test_erasing_a_donor_counts_each_kept_payment_of_theirs(app):
    with app.app_context():
        campaign = f.make_campaign().id
        donor = Supporter(email="gone@example.org", email_verified_at=utcnow())
        db.session.add(donor)
        db.session.commit()
        refunded = pay(campaign, "gone@example.org", 1000, "EUR", "statement")
        refund(refunded, 1000, "statement")
        pay(campaign, "gone@example.org", 2000, "EUR", "statement")
        pay(campaign, "gone@example.org", 500, "GBP", "statement")
        pay(campaign, "stays@example.org", 300, "EUR", "statement")
        assert_counted_right(campaign, 2)
        db.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.donor_email == "gone@example.org")
            .values(supporter_id=donor.id)
        )
        db.session.commit()
        delete_account(db.session.get(Supporter, donor.id))
        db.session.commit()
        # Their two kept payments count once each; the refunded one not at all.
        assert_counted_right(campaign, 3)
        keys = set(db.session.scalars(select(LedgerSupporter.donor_key)))
        assert "gone@example.org" not in keys
        assert_rollups_match_the_ledger()


def test_a_rebuild_repairs_a_drifted_count(ctx):
    campaign = f.make_campaign().id
    for email in ("a@example.org", "b@example.org"):
        pay(campaign, email, 1000, "EUR", "statement")
    db.session.execute(update(LedgerSupporterCount).values(supporters=7))
    db.session.execute(update(LedgerSupporter).values(currencies=2))
    db.session.commit()
    before = rollups.snapshot()
    rollups.rebuild()
    differing = rollups.differing_rows(before, rollups.snapshot())
    assert differing["ledger_supporter_counts"] == 2 and differing["ledger_supporters"] == 4
    db.session.commit()
    assert_counted_right(campaign, 2)


def test_a_count_left_at_zero_is_as_no_count(ctx):
    """Every gift refunded leaves rows at 0 behind; a rebuild writes none, and that is no
    difference."""
    campaign = f.make_campaign().id
    refund(pay(campaign, "a@example.org", 1000, "EUR", "statement"), 1000, "statement")
    assert db.session.scalar(select(LedgerSupporterCount.supporters)) == 0
    assert_counted_right(campaign, 0)
    assert_rollups_match_the_ledger()


@pytest.mark.parametrize("path", PATHS)
def test_one_donor_paying_and_refunded_in_two_currencies_at_once_is_counted_exactly(
    app, campaign, path
):
    """Threads book payments and their refunds for one donor in EUR and GBP through both
    ways at once, so the donor's kept amounts cross 0 again and again in both currencies."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
        campaign_id = f.make_campaign("race").id
    threads, rounds, errors = 4, 12, []
    barrier = threading.Barrier(threads)

    def run(number: int) -> None:
        currency = ("EUR", "GBP")[number % 2]
        way = PATHS[number // 2] if path == "statement" else PATHS[1 - number // 2]
        with app.app_context():
            barrier.wait()
            for index in range(rounds):
                ref = f"pi_race_{number}_{index}"
                paid = payment_values(
                    campaign_id, "racer@example.org", 100 + index, currency, ref
                ) | {"donor_name": "", "created_at": datetime.now(UTC)}
                taken = {**paid, "stripe_ref": f"re_race_{number}_{index}", "kind": "refund"}
                taken["amount_minor"] = -paid["amount_minor"]
                # The last round of the first two threads keeps its gift.
                rows = [paid] if index == rounds - 1 and number < 2 else [paid, taken]
                for row in rows:
                    # No ledger.change: a deadlock would be retried there, and must not happen.
                    try:
                        count_row(row, way)
                        db.session.commit()
                    except Exception as error:  # noqa: BLE001 - reported below
                        db.session.rollback()
                        errors.append(repr(error))

    run_in_threads(run, threads)
    assert errors == []
    with app.app_context():
        rows = db.session.scalar(
            select(db.func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.campaign_id == campaign_id)
        )
        assert rows == threads * rounds * 2 - 2
        assert kept_from_the_ledger(campaign_id) == {"racer@example.org": 2}
        assert_counted_right(campaign_id, 1)
        assert_rollups_match_the_ledger()
