"""0010 on a database with Stripe gifts: every row becomes a `stripe` row, channel totals filled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from fundraiser.models import Campaign
from tests.test_migrations import (  # noqa: F401 - the fixture
    empty_database_url,
    engine_for,
    flask_db,
    old_ledger_insert,
)


def test_existing_rows_become_stripe_rows_with_their_ids(empty_database_url):  # noqa: F811
    flask_db(empty_database_url, "upgrade", "0009_staff_desk")
    at = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    row = {"campaign_id": 1, "frequency": "one-time", "donor_name": "", "occurred_at": at,
           "created_at": at, "donor_email": "a@x", "payment_ref": "pi_1"}  # fmt: skip
    rows = [
        {**row, "stripe_ref": "pi_1", "kind": "payment", "amount_minor": 1000, "currency": "EUR"},
        {**row, "stripe_ref": "re_1", "kind": "refund", "amount_minor": -400, "currency": "EUR"},
        {**row, "stripe_ref": "pi_2", "kind": "payment", "amount_minor": 700, "currency": "GBP",
         "payment_ref": "pi_2"},
    ]  # fmt: skip
    engine = engine_for(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                Campaign.__table__.insert(),
                {"slug": "appeal", "title": "Appeal", "body_markdown": "", "appeal_markdown": "",
                 "photo_caption": "", "goal_minor": 1, "currency": "EUR", "is_open": True,
                 "is_default": True, "content_version": 1, "created_at": at, "updated_at": at},
            )  # fmt: skip
            connection.execute(old_ledger_insert(rows), rows)
        flask_db(empty_database_url, "upgrade")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT stripe_ref, channel, external_id FROM ledger_entries ORDER BY id")
            ).all()
            assert kept == [("pi_1", "stripe", "pi_1"), ("re_1", "stripe", "re_1"),
                            ("pi_2", "stripe", "pi_2")]  # fmt: skip
            sums = connection.execute(
                text(
                    "SELECT channel, currency, entries, amount_minor FROM ledger_channel_totals"
                    " ORDER BY currency"
                )
            ).all()
            assert sums == [("stripe", "EUR", 2, 600), ("stripe", "GBP", 1, 700)]
        for bad in (
            {"stripe_ref": "x1", "channel": "cash", "external_id": "x1"},
            {"stripe_ref": "paypal:pi_1", "channel": "stripe", "external_id": "pi_1"},
        ):
            bad_row = {**rows[0], "currency": "EUR", **bad}
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(old_ledger_insert([bad_row]), bad_row)
        flask_db(empty_database_url, "downgrade", "0009_staff_desk")
    finally:
        engine.dispose()


def test_0011_notes_the_paypal_rows_an_ipn_booked_before_it(empty_database_url):  # noqa: F811
    flask_db(empty_database_url, "upgrade", "0010_channels")
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    base = {"campaign_id": 1, "frequency": "one-time", "donor_name": "", "occurred_at": at,
            "created_at": at, "donor_email": "a@x", "kind": "payment", "amount_minor": 500,
            "currency": "EUR", "channel": "paypal"}  # fmt: skip
    rows = [
        {**base, "stripe_ref": "paypal:IPN1", "external_id": "IPN1", "payment_ref": "paypal:IPN1"},
        {**base, "stripe_ref": "paypal:CSV1", "external_id": "CSV1", "payment_ref": "paypal:CSV1"},
    ]
    audit = [
        {"actor": "paypal:ipn:abc", "action": "paypal.payment", "target": "paypal:IPN1",
         "detail": "{}", "created_at": at},
        {"actor": "cli:import-paypal:x.csv", "action": "paypal.payment", "target": "paypal:CSV1",
         "detail": "{}", "created_at": at},
    ]  # fmt: skip
    engine = engine_for(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                Campaign.__table__.insert(),
                {"slug": "appeal", "title": "Appeal", "body_markdown": "", "appeal_markdown": "",
                 "photo_caption": "", "goal_minor": 1, "currency": "EUR", "is_open": True,
                 "is_default": True, "content_version": 1, "created_at": at, "updated_at": at},
            )  # fmt: skip
            connection.execute(old_ledger_insert(rows), rows)
            connection.execute(text(
                "INSERT INTO audit_log (actor, action, target, detail, created_at)"
                " VALUES (:actor, :action, :target, :detail, :created_at)"
            ), audit)  # fmt: skip
        flask_db(empty_database_url, "upgrade", "0011_channel_reconcile")
        with engine.connect() as connection:
            noted = connection.execute(
                text("SELECT channel, outcome, external_id FROM channel_notices")
            ).all()
            assert noted == [("paypal", "verified", "IPN1")]
            lifetime = connection.execute(
                text("SELECT COUNT(reported_lifetime_minor) FROM pledges")
            ).scalar()
            assert lifetime == 0
        flask_db(empty_database_url, "downgrade", "0010_channels")
    finally:
        engine.dispose()
