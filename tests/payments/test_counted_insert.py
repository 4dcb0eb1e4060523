"""A ledger row and its roll-ups in one statement on PostgreSQL (rollups.insert_entry): within
what psycopg caches and prepares, with the columns' defaults, and concurrent payments to one
campaign and donor, booked through it and through add_entry, neither deadlock nor lose a count."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from fundraiser import audit
from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.database import insert_new
from fundraiser.extensions import db
from fundraiser.models import (
    AuditEntry,
    LedgerDonor,
    LedgerDonorKey,
    LedgerEntry,
    LedgerGiftAmount,
    Supporter,
    utcnow,
)
from fundraiser.payments import ledger, ledger_writes, rollups
from tests.dashboard.test_rollups import assert_rollups_match_the_ledger
from tests.helpers import run_in_threads

#: psycopg parses a longer statement (or one with more parameters) anew on every call and
#: never prepares it (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH / _PARAMS).
PSYCOPG_CACHED_LENGTH, PSYCOPG_CACHED_PARAMS = 4096, 50


def _full_row(kind: str = "payment", amount_minor: int = 1000, ref: str = "pi_full") -> dict:
    """A row with every column the books can write set (the longest statement)."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    columns = {column.name for column in LedgerEntry.__table__.c} - {"id"}
    row = dict.fromkeys(columns, "x")
    row.update(
        stripe_ref=ref,
        channel="stripe",
        external_id=ref,
        payment_ref=ref,
        kind=kind,
        campaign_id=1,
        pledge_id=None,
        intent_id=None,
        supporter_id=None,
        frequency="monthly",
        amount_minor=amount_minor,
        fee_minor=30,
        currency="EUR",
        settlement_currency="EUR",
        settled_amount_minor=amount_minor,
        settled_fee_minor=30,
        exchange_rate=None,
        donor_email="donor@example.org",
        occurred_at=now,
        created_at=now,
    )
    return row


@pytest.mark.parametrize(("kind", "amount"), [("payment", 1000), ("refund", -500)])
def test_the_statement_stays_within_what_psycopg_caches(kind, amount):
    values = _full_row(kind, amount)
    counts = rollups._counts(values)
    shapes = tuple((model, tuple(key), tuple(sums)) for model, key, sums in counts)
    params = rollups._with_defaults(values)
    payment = kind == "payment"
    statement = rollups._counted_insert(tuple(params), shapes, payment, True, payment)
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    names = set(params) | {f"n_{n}" for _m, key, sums in counts for n in (*key, *sums)}
    names |= {f"a_{name}" for name in audit.entry("stripe:evt_1", "payment.recorded")}
    assert set(compiled.params) <= names
    assert len(str(compiled)) <= PSYCOPG_CACHED_LENGTH
    assert len(names) <= PSYCOPG_CACHED_PARAMS


def test_every_python_side_default_of_a_ledger_row_is_filled_in():
    defaulted = {c.name for c in LedgerEntry.__table__.c if c.default is not None}
    assert defaulted <= set(rollups._with_defaults({"stripe_ref": "pi_1"}))


def test_a_row_booked_twice_is_counted_and_audited_once(ctx, campaign):
    values = _full_row() | {"campaign_id": campaign_by_slug(campaign).id}
    values.pop("supporter_id")
    supporter = Supporter(email="donor@example.org", email_verified_at=utcnow())
    db.session.add(supporter)
    db.session.commit()

    def book(tx):
        return rollups.insert_entry(values, audit.entry(tx.actor, "payment.recorded"), True)

    first = ledger.change("test:once", book)
    again = ledger.change("test:twice", book)
    assert first is not None and again is None
    assert db.session.get(LedgerEntry, first).supporter_id == supporter.id
    audited = db.session.scalars(select(AuditEntry.actor)).all()
    assert audited == ["test:once"]
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert db.session.scalar(select(LedgerGiftAmount.payments)) == 1
    assert db.session.scalar(select(LedgerDonor.kept_minor)) == 1000
    assert db.session.scalar(select(func.count()).select_from(LedgerDonorKey)) == 2
    assert_rollups_match_the_ledger()


def test_a_refund_then_a_new_gift_makes_the_donor_new_again(ctx, campaign):
    campaign_id = campaign_by_slug(campaign).id
    rows = [
        _full_row("payment", 1000, "pi_a"),
        _full_row("refund", -1000, "re_a") | {"payment_ref": "pi_a"},
        _full_row("payment", 700, "pi_b"),
    ]
    for row in rows:
        row["campaign_id"] = campaign_id
        ledger.change("test:rows", lambda tx, row=row: rollups.insert_entry(row))
    assert db.session.scalar(select(LedgerDonor.kept_minor)) == 700
    assert_rollups_match_the_ledger()


def _book_through_add_entry(values: dict) -> int | None:
    """The other way a row is counted (channel_books): its INSERT, then add_entry."""
    entry_id = insert_new(LedgerEntry, values, ["stripe_ref"], "id")
    rollups.add_entry(values)
    return entry_id


def test_concurrent_payments_to_one_campaign_and_donor_neither_deadlock_nor_lose_counts(
    app, campaign
):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
        campaign_id = campaign_by_slug(campaign).id
    threads, per_thread, errors = 6, 15, []
    barrier = threading.Barrier(threads)

    def book(number: int) -> None:
        with app.app_context():
            barrier.wait()
            for index in range(per_thread):
                ref = f"pi_race_{number}_{index}"
                values = {
                    "stripe_ref": ref,
                    "kind": "payment",
                    "campaign_id": campaign_id,
                    "payment_ref": ref,
                    "frequency": "monthly",
                    "amount_minor": 500 + index % 3,
                    "currency": "EUR",
                    "donor_email": f"racer{index % 2}@example.org",
                    "donor_name": "",
                    "occurred_at": utcnow(),
                    "created_at": utcnow(),
                }
                # No ledger.change: a deadlock would be retried there, and must not happen.
                try:
                    if number % 2:
                        _book_through_add_entry(values)
                    else:
                        ledger_writes.book_entry(values, ledger.Transaction("test:race"))
                    db.session.commit()
                except Exception as error:  # noqa: BLE001 - reported below
                    db.session.rollback()
                    errors.append(repr(error))

    run_in_threads(book, threads)
    assert errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 90
        assert db.session.scalar(select(func.sum(LedgerGiftAmount.payments))) == 90
        assert_rollups_match_the_ledger()
