"""The reader's language: which languages ship, and which one a request is in."""

from __future__ import annotations

from flask import g

DEFAULT_LANGUAGE = "en"
# English is the source; each other language has a catalogue under translations/.
LANGUAGES = ("en", "de", "fr", "es", "ru")


def current_language() -> str:
    """The language of this request (set from the address), English when none was chosen."""
    return g.get("language", DEFAULT_LANGUAGE)
