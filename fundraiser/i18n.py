"""The reader's language: which languages ship, and which one a request is in."""

from __future__ import annotations

from flask import g

DEFAULT_LANGUAGE = "en"
# English is the source; each other language has a catalogue under translations/.
LANGUAGES = ("en", "de", "fr", "es", "ru")


def current_language() -> str:
    """The language of this request (set from the address), English when none was chosen."""
    return g.get("language", DEFAULT_LANGUAGE)


def plural_labels(singular: str, plural: str) -> dict[str, str]:
    """A plural's words per CLDR plural category of this request's language ("one", "few",
    "many", "other" …), for scripts that count in the browser (Intl.PluralRules picks the
    category there). Each category's word is gettext's for the smallest number in it."""
    from babel import Locale
    from flask_babel import get_locale, ngettext

    rule = (get_locale() or Locale.parse(DEFAULT_LANGUAGE)).plural_form
    labels: dict[str, str] = {}
    for number in (*range(0, 200), 1_000_000):
        category = rule(number)
        if category not in labels:
            labels[category] = ngettext(singular, plural, number)
    labels.setdefault("other", ngettext(singular, plural, 2))
    return labels
