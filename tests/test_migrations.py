"""Migrations build the schema from empty on SQLite and PostgreSQL, match the models, and undo."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, create_engine, inspect, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import fundraiser.models  # noqa: F401 - every model on the metadata
from fundraiser.extensions import db
from fundraiser.models import Campaign, LedgerEntry
from tests.conftest import REPO_ROOT


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new, empty database on the same backend the suite runs on."""
    test_url = os.environ.get("TEST_DATABASE_URL", "")
    if not test_url.startswith(("postgresql", "postgres")):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = make_url(test_url).set(drivername="postgresql")
    name = f"fundraiser_migrations_{secrets.token_hex(4)}"
    admin_conninfo = server.render_as_string(hide_password=False)
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask_db(url: str, *args: str) -> subprocess.CompletedProcess:
    """Run `flask db …` as an operator would, against `url` (and in its own process, so
    Alembic's logging setup does not reconfigure this test run's loggers)."""
    return flask_command(url, "db", *args)


def flask_command(url: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"DATABASE_URL": url, "FLASK_APP": "app", "APP_ENV": "", "FLASK_ENV": ""}
    result = subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def old_ledger_insert(rows: list[dict]):
    """An INSERT of ledger rows naming only their keys: the models' later columns (and their
    defaults) are not in an old schema."""
    return table("ledger_entries", *(column(name) for name in rows[0])).insert()


def engine_for(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrations_build_the_whole_schema_from_an_empty_database(empty_database_url):
    flask_db(empty_database_url, "upgrade")
    engine = engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head_revision()
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    # The core of the data model; that every model has its table is the drift check below.
    assert {"campaigns", "ledger_entries", "stripe_events", "supporters", "pledges"} <= tables


def test_models_and_migrations_do_not_drift(empty_database_url):
    flask_db(empty_database_url, "upgrade")
    engine = engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations differ; run `flask db migrate`:\n" + "\n".join(
        map(repr, differences)
    )


def test_migrations_downgrade_back_to_an_empty_database(empty_database_url):
    flask_db(empty_database_url, "upgrade")
    flask_db(empty_database_url, "downgrade", "base")
    engine = engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is None
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_rollups_migration_fills_them_from_the_existing_ledger(empty_database_url):
    """0002 backfills the roll-ups with what `flask dashboard rebuild-rollups` would write."""
    flask_db(empty_database_url, "upgrade", "0001_initial")
    # Just before a quarter hour ends: SQLite's own time functions would round it into the next.
    at = datetime(2026, 3, 10, 18, 14, 59, 999999, tzinfo=UTC)
    row = {"kind": "payment", "campaign_id": 1, "frequency": "one-time", "currency": "EUR"}
    rows = [
        {**row, "stripe_ref": "pi_1", "amount_minor": 2500, "fee_minor": 60, "donor_email": "a@x"},
        {**row, "stripe_ref": "pi_2", "amount_minor": 1000, "fee_minor": None,
         "donor_email": "a@x"},
        {**row, "stripe_ref": "pi_3", "amount_minor": 1000, "fee_minor": 30, "donor_email": None},
        {**row, "stripe_ref": "re_1", "kind": "refund", "amount_minor": -500, "fee_minor": None,
         "donor_email": "a@x", "payment_ref": "pi_1"},
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
            old_rows = [
                {"payment_ref": r["stripe_ref"], "donor_name": "", "occurred_at": at,
                 "created_at": at, **r}
                for r in rows
            ]  # fmt: skip
            connection.execute(old_ledger_insert(old_rows), old_rows)
        flask_db(empty_database_url, "upgrade")
        with engine.connect() as connection:
            totals = connection.execute(
                text("SELECT kind, entries, amount_minor, fee_minor FROM ledger_totals")
            ).all()
            quarters = connection.execute(text("SELECT DISTINCT quarter FROM ledger_quarter_hours"))
            donors = connection.execute(text("SELECT count(*) FROM ledger_donors")).scalar()
            assert sorted(totals) == [("payment", 3, 4500, 90), ("refund", 1, -500, 0)]
            assert [q for (q,) in quarters] == [int(at.timestamp()) // 900]
            assert donors == 2  # a@x, and pi_3 by its payment id
    finally:
        engine.dispose()
    checked = flask_command(empty_database_url, "dashboard", "rebuild-rollups", "--check")
    assert "match the ledger" in checked.stdout


def test_money_core_migration_upgrades_a_database_with_data(empty_database_url):
    """0007 on a database with gifts, a pledge and an intent in it: all kept, and the new
    CHECK constraints guard the rows written afterwards."""
    flask_db(empty_database_url, "upgrade", "0003_queued_stripe_events")
    at = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    rollup_rows = [
        "INSERT INTO ledger_totals VALUES (1, 'EUR', 'payment', 'monthly', 1, 1000, 45)",
        "INSERT INTO ledger_totals VALUES (1, 'EUR', 'refund', 'monthly', 1, -400, 0)",
        "INSERT INTO ledger_donors VALUES (1, 'EUR', 'a@x')",
    ]
    engine = engine_for(empty_database_url)
    row = {"campaign_id": 1, "frequency": "monthly", "currency": "EUR", "donor_name": "",
           "occurred_at": at, "created_at": at, "donor_email": "a@x",
           "payment_ref": "pi_1"}  # fmt: skip
    try:
        with engine.begin() as connection:
            connection.execute(
                Campaign.__table__.insert(),
                {"slug": "appeal", "title": "Appeal", "body_markdown": "", "appeal_markdown": "",
                 "photo_caption": "", "goal_minor": 1, "currency": "EUR", "is_open": True,
                 "is_default": True, "content_version": 1, "created_at": at, "updated_at": at},
            )  # fmt: skip
            connection.execute(
                text(
                    "INSERT INTO pledges (stripe_subscription_id, campaign_id, amount_minor,"
                    " currency, interval, status, cancel_reason, stripe_synced_at, created_at,"
                    " updated_at) VALUES ('sub_1', 1, 1000, 'EUR', 'month', 'active', '', 0,"
                    " :at, :at)"
                ),
                {"at": at},
            )
            old_rows = [
                {**row, "stripe_ref": "pi_1", "kind": "payment", "amount_minor": 1000,
                 "fee_minor": 45},
                {**row, "stripe_ref": "re_1", "kind": "refund", "amount_minor": -400,
                 "fee_minor": None},
            ]  # fmt: skip
            connection.execute(old_ledger_insert(old_rows), old_rows)
            for statement in rollup_rows:  # as 0002's roll-ups had counted them
                connection.execute(text(statement))
        flask_db(empty_database_url, "upgrade")
        with engine.connect() as connection:
            kept = connection.execute(
                text("SELECT stripe_ref, amount_minor FROM ledger_entries ORDER BY id")
            ).all()
            assert kept == [("pi_1", 1000), ("re_1", -400)]
            assert connection.execute(text("SELECT revision FROM pledges")).scalar() == 0
            donors = connection.execute(text("SELECT donor_key, kept_minor FROM ledger_donors"))
            assert donors.all() == [("a@x", 600)]  # the gift less its refund
            assert connection.execute(
                text("SELECT entries, unsettled FROM ledger_totals WHERE kind = 'payment'")
            ).all() == [(1, 1)]
        for bad in (
            {"kind": "payment", "amount_minor": -1, "fee_minor": None, "currency": "EUR"},
            {"kind": "payment", "amount_minor": 100, "fee_minor": -1, "currency": "EUR"},
            {"kind": "payment", "amount_minor": 100, "fee_minor": None, "currency": "eur"},
        ):
            with pytest.raises(IntegrityError), engine.begin() as connection:
                connection.execute(
                    LedgerEntry.__table__.insert(), {**row, "stripe_ref": "pi_bad", **bad}
                )
    finally:
        engine.dispose()


def test_supporter_counts_migration_counts_the_donors_already_there(empty_database_url):
    """0014 on a database with gifts: each campaign's supporters counted from its donor
    roll-up (a donor in two currencies once, a donor refunded in full not at all, a gift with
    no email by its payment), as `flask dashboard rebuild-rollups` counts them."""
    flask_db(empty_database_url, "upgrade", "0001_initial")
    at = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
    row = {"kind": "payment", "campaign_id": 1, "frequency": "one-time", "currency": "EUR",
           "fee_minor": None, "donor_name": "", "occurred_at": at, "created_at": at}  # fmt: skip
    gifts = [
        ("pi_1", "payment", 1, "EUR", 1000, "a@x", "pi_1"),
        ("pi_2", "payment", 1, "GBP", 500, "a@x", "pi_2"),
        ("re_2", "refund", 1, "GBP", -500, "a@x", "pi_2"),
        ("pi_3", "payment", 1, "EUR", 700, "b@x", "pi_3"),
        ("re_3", "refund", 1, "EUR", -700, "b@x", "pi_3"),
        ("pi_4", "payment", 1, "EUR", 300, None, "pi_4"),
        ("pi_5", "payment", 2, "EUR", 100, "a@x", "pi_5"),
        ("pi_6", "payment", 2, "USD", 100, "a@x", "pi_6"),
    ]
    names = ("stripe_ref", "kind", "campaign_id", "currency", "amount_minor", "donor_email",
             "payment_ref")  # fmt: skip
    rows = [{**row, **dict(zip(names, gift, strict=True))} for gift in gifts]
    engine = engine_for(empty_database_url)
    try:
        with engine.begin() as connection:
            for slug in ("appeal", "other"):
                connection.execute(
                    Campaign.__table__.insert(),
                    {"slug": slug, "title": slug, "body_markdown": "", "appeal_markdown": "",
                     "photo_caption": "", "goal_minor": 1, "currency": "EUR", "is_open": True,
                     "is_default": slug == "appeal", "content_version": 1, "created_at": at,
                     "updated_at": at},
                )  # fmt: skip
            connection.execute(old_ledger_insert(rows), rows)
        flask_db(empty_database_url, "upgrade", "0013_campaign_translations")
        flask_db(empty_database_url, "upgrade")
        with engine.connect() as connection:
            supporters = connection.execute(
                text("SELECT campaign_id, donor_key, currencies FROM ledger_supporters")
            )
            assert sorted(supporters) == [(1, "a@x", 1), (1, "pi_4", 1), (2, "a@x", 2)]
            counts = connection.execute(
                text("SELECT campaign_id, supporters FROM ledger_supporter_counts")
            )
            assert sorted(counts) == [(1, 2), (2, 1)]
    finally:
        engine.dispose()
    checked = flask_command(empty_database_url, "dashboard", "rebuild-rollups", "--check")
    assert "match the ledger" in checked.stdout
    flask_db(empty_database_url, "downgrade", "0013_campaign_translations")
    engine = engine_for(empty_database_url)
    try:
        assert "ledger_supporters" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
