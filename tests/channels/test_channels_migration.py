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
