"""A supporter's language: remembered on the account, used for everything sent to them.

It is set from the page's language when they register or give while signed in, changed on
the settings page, and read when mails, receipts and statements are rendered (with
flask_babel.force_locale, so gettext, money and dates all follow it), including the
receipts the RQ worker sends for renewals. Someone without an account gets the language of
the page they gave on (the donation intent's).
"""

from __future__ import annotations

from contextlib import contextmanager

from flask_babel import force_locale, lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, Integer, String, case, func, literal, select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from fundraiser.extensions import db
from fundraiser.i18n import DEFAULT_LANGUAGE, LANGUAGES, NATIVE_NAMES, normalize_language
from fundraiser.models import DonationIntent, Pledge, Supporter


class LanguageForm(FlaskForm):
    language = SelectField(
        lazy_gettext("Language of our emails, receipts and statements"),
        choices=[SelectChoice(code, NATIVE_NAMES[code]) for code in LANGUAGES],
    )


def remember(supporter: Supporter | None, language: str) -> None:
    """Keep `language` (a shipped code) as the supporter's."""
    if supporter is None or getattr(supporter, "is_anonymous", False):
        return
    code = normalize_language(language)
    if supporter.language != code:
        supporter.language = code


def language_of(
    supporter_id: int | None = None,
    email: str | None = None,
    intent_id: int | None = None,
    pledge_id: int | None = None,
) -> str:
    """The language to write to someone in: their account's, else the page they gave on."""
    code = db.session.scalar(
        select(
            chosen_language(
                literal(supporter_id, Integer),
                literal(email.lower() if email else None, String),
                literal(intent_id, Integer),
                literal(pledge_id, Integer),
            )
        )
    )
    return normalize_language(code)


def chosen_language(supporter_id, email, intent_id, pledge_id) -> ColumnElement:
    """SQL for the language code `language_of` picks (None: English), from SQL values, so a
    query can read it beside other columns: the account with `supporter_id` (if there is
    one; else the live account with the lower-case `email`) when it chose a language, else
    the language of the donation intent (`intent_id`, else the pledge's)."""
    by_id = select(Supporter.language).where(Supporter.id == supporter_id)
    by_email = (
        select(Supporter.language)
        .where(Supporter.email == email, Supporter.deleted_at.is_(None))
        .limit(1)
    )
    account = case((by_id.exists(), by_id.scalar_subquery()), else_=by_email.scalar_subquery())
    # Nested two deep: say which side is the outer query's (SQLAlchemy correlates one level).
    pledge_intent = select(Pledge.intent_id).where(Pledge.id == pledge_id).correlate_except(Pledge)
    intent = select(DonationIntent.language).where(
        DonationIntent.id == func.coalesce(intent_id, pledge_intent.scalar_subquery())
    )
    return func.coalesce(func.nullif(account, ""), intent.scalar_subquery())


@contextmanager
def writing_in(language: str | None):
    """Render (gettext, money, dates, links) in `language` inside this block."""
    with force_locale(normalize_language(language or DEFAULT_LANGUAGE)):
        yield
