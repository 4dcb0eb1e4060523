"""0011 on a database with campaigns, supporters and intents: every row kept, languages NULL
(English), and translations stored one per campaign and language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.test_migrations import empty_database_url, engine_for, flask_db  # noqa: F401

AT = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


def test_languages_migration_keeps_data_and_adds_translations(empty_database_url):  # noqa: F811
    flask_db(empty_database_url, "upgrade", "0012_quarter_channels")
    engine = engine_for(empty_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO campaigns (slug, title, body_markdown, appeal_markdown,"
                    " photo_caption, goal_minor, currency, is_open, is_default, content_version,"
                    " default_frequency, photo_widths, photo_ratio_milli, created_at, updated_at)"
                    " VALUES ('appeal', 'Appeal', 'Body', '', '', 500000, 'EUR', true, true, 3,"
                    " 'one-time', '', 0, :at, :at)"
                ),
                {"at": AT},
            )
            connection.execute(
                text(
                    "INSERT INTO supporters (email, name, show_publicly, role, is_active,"
                    " session_version, totp_last_step, totp_recovery_hashes, failed_sign_ins,"
                    " created_at) VALUES ('a@example.org', 'A', false, 'supporter', true, 1, 0,"
                    " '[]', 0, :at)"
                ),
                {"at": AT},
            )
            connection.execute(
                text(
                    "INSERT INTO donation_intents (public_id, campaign_id, amount_minor,"
                    " fee_cover_minor, currency, frequency, name, anonymous, message,"
                    " show_amount, message_status, status, created_at, updated_at) VALUES"
                    " ('0123456789abcdef0123456789abcdef', 1, 2500, 0, 'EUR', 'one-time', '',"
                    " false, '', false, 'pending', 'created', :at, :at)"
                ),
                {"at": AT},
            )
    finally:
        engine.dispose()

    flask_db(empty_database_url, "upgrade")

    engine = engine_for(empty_database_url)
    try:
        with engine.begin() as connection:
            assert connection.execute(
                text("SELECT slug, content_version FROM campaigns")
            ).all() == [("appeal", 3)]
            assert connection.execute(text("SELECT email, language FROM supporters")).all() == [
                ("a@example.org", None)
            ]
            assert connection.execute(
                text("SELECT amount_minor, language FROM donation_intents")
            ).all() == [(2500, None)]
            insert = text(
                "INSERT INTO campaign_translations (campaign_id, language, title, body_markdown,"
                " appeal_markdown, photo_caption, created_at, updated_at)"
                " VALUES (1, :language, 'Aufruf', 'Text', '', '', :at, :at)"
            )
            connection.execute(insert, {"language": "de", "at": AT})
            connection.execute(insert, {"language": "fr", "at": AT})
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"language": "de", "at": AT})
    finally:
        engine.dispose()

    flask_db(empty_database_url, "downgrade", "0012_quarter_channels")
    engine = engine_for(empty_database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM supporters")).scalar() == 1
    finally:
        engine.dispose()
