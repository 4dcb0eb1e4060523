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
from sqlalchemy import select
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
    supporter = db.session.get(Supporter, supporter_id) if supporter_id else None
    if supporter is None and email:
        found = select(Supporter).where(
            Supporter.email == email.lower(), Supporter.deleted_at.is_(None)
        )
        supporter = db.session.scalar(found)
    if supporter is not None and supporter.language:
        return normalize_language(supporter.language)
    if intent_id is None and pledge_id is not None:
        pledge = db.session.get(Pledge, pledge_id)
        intent_id = pledge.intent_id if pledge else None
    intent = db.session.get(DonationIntent, intent_id) if intent_id else None
    if intent is not None and intent.language:
        return normalize_language(intent.language)
    return DEFAULT_LANGUAGE


@contextmanager
def writing_in(language: str | None):
    """Render (gettext, money, dates, links) in `language` inside this block."""
    with force_locale(normalize_language(language or DEFAULT_LANGUAGE)):
        yield
