"""The reader's language: which languages ship, and which one a request is in.

The language is part of the address: English at `/`, every other shipped language under its
own prefix (`/de/`, `/de/campaigns/<slug>`, `/de/donate`, `/de/account/…`), so each page is
one shared cacheable copy per language and nothing varies by cookie or Accept-Language.
`localize_routes` registers every supporter-facing route a second time under the prefix (the
same endpoint, so `url_for` keeps working); `url_defaults` adds the request's language back
to every such link, so a German reader stays on German pages. The staff dashboard, the JSON
API, webhooks and /out links have no prefix.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from flask import Flask, g, has_app_context, request

DEFAULT_LANGUAGE = "en"
# English is the source; each other language has a catalogue under translations/.
LANGUAGES = ("en", "de", "fr", "es", "ru")
#: The languages that live under an address prefix (all but English).
PREFIXED_LANGUAGES = tuple(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)
#: How money, numbers and dates are formatted (Babel locales) for each language.
LOCALES = {"en": "en_GB", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "ru": "ru_RU"}
#: Each language's name in itself, for the language switcher and the settings page.
NATIVE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "ru": "Русский",
}
#: Stripe Checkout's `locale` for each language (Stripe supports all five).
STRIPE_LOCALES = {"en": "en", "de": "de", "fr": "fr", "es": "es", "ru": "ru"}
#: The currency first offered in each language, where the campaign accepts it. English
#: readers are everywhere, so English (and Russian) open on the campaign's own currency.
PREFERRED_CURRENCIES = {"de": ("EUR",), "fr": ("EUR",), "es": ("EUR",)}

#: Whole blueprints whose pages a reader sees in their language.
LOCALIZED_BLUEPRINTS = ("donations", "accounts")
#: Single supporter-facing endpoints of other blueprints.
LOCALIZED_ENDPOINTS = frozenset({"campaigns.landing", "campaigns.campaign_page", "campaigns.embed"})
_PREFIX = "/<any(" + ",".join(PREFIXED_LANGUAGES) + "):lang>"


def current_language() -> str:
    """The language of this request (set from the address), English when none was chosen."""
    if not has_app_context():
        return DEFAULT_LANGUAGE
    return g.get("language", DEFAULT_LANGUAGE)


def normalize_language(code: str | None) -> str:
    """A shipped language code for `code` ("de", "de-AT", "DE_de"), English when none fits."""
    base = (code or "").strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def rendering_language() -> str:
    """The language being rendered now: flask_babel.force_locale's, else the request's."""
    from flask_babel import get_locale

    if not has_app_context():
        return DEFAULT_LANGUAGE
    locale = get_locale()
    return normalize_language(locale.language if locale is not None else None)


def rendering_locale() -> str:
    """The Babel locale for money, numbers and dates in what is being rendered now."""
    return LOCALES[rendering_language()]


def language_prefix(language: str | None) -> str:
    """The address prefix of a language: "/de" for German, "" for English (or none)."""
    return f"/{language}" if language in PREFIXED_LANGUAGES else ""


def is_localized(endpoint: str | None) -> bool:
    if not endpoint:
        return False
    return endpoint in LOCALIZED_ENDPOINTS or endpoint.split(".", 1)[0] in LOCALIZED_BLUEPRINTS


def language_of_path(path: str) -> str:
    """The language an address is in, from its first segment (for pages no route matched)."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in PREFIXED_LANGUAGES else DEFAULT_LANGUAGE


def language_url(endpoint: str, language: str, values: dict | None = None) -> str:
    """The path of `endpoint` (with `values`) in `language`: unprefixed for English."""
    from flask import url_for

    return url_for(endpoint, **(values or {}), lang=language)


def alternates() -> list[tuple[str, str]]:
    """(language, path) of this page in every shipped language, for hreflang links (made
    absolute on BASE_URL) and the switcher; empty on pages that have no language versions."""
    endpoint = request.endpoint if request else None
    if not is_localized(endpoint) or request.method != "GET":
        return []
    values = dict(request.view_args or {})
    return [(code, language_url(endpoint, code, values)) for code in LANGUAGES]


def localize_routes(app: Flask) -> None:
    """Register each supporter-facing route again under /<lang>, and keep links in language."""
    for rule in list(app.url_map.iter_rules()):
        if not is_localized(rule.endpoint) or "lang" in rule.arguments:
            continue
        app.add_url_rule(
            _PREFIX + rule.rule,
            endpoint=rule.endpoint,
            view_func=app.view_functions[rule.endpoint],
            methods=rule.methods,
            strict_slashes=rule.strict_slashes,
        )

    @app.url_value_preprocessor
    def pull_language(_endpoint, values) -> None:
        language = values.pop("lang", None) if values else None
        g.language = language or language_of_path(request.path)

    @app.url_defaults
    def add_language(endpoint, values) -> None:
        # An explicit lang= wins (hreflang links); otherwise the language being rendered
        # (a mail under force_locale follows its reader, a page its address).
        language = values.pop("lang", None) or rendering_language()
        if is_localized(endpoint) and language in PREFIXED_LANGUAGES:
            values["lang"] = language

    @app.after_request
    def say_language(response):
        if is_localized(request.endpoint) or current_language() != DEFAULT_LANGUAGE:
            response.headers.setdefault("Content-Language", current_language())
        return response

    @app.context_processor
    def language_helpers():
        return {
            "page_language": current_language(),
            "language_alternates": alternates,
            "native_language_names": NATIVE_NAMES,
        }


def _date_of(value):
    return value.date() if isinstance(value, datetime) else value


def long_date(value) -> str:
    """ "5 February 2022" / "5. Februar 2022" / "5 февраля 2022 г.", in the language rendered."""
    return _format_date(_date_of(value), "long", rendering_locale())


def medium_date(value) -> str:
    """ "5 Feb 2022" / "05.02.2022": a table's dates, in the language rendered."""
    return _format_date(_date_of(value), "medium", rendering_locale())


def _format_date(day, format: str, locale: str) -> str:
    from babel.dates import format_date

    if type(day) is date:
        return _format_day(day, format, locale)
    return format_date(day, format=format, locale=locale)  # None is today: not for keeping


@lru_cache(maxsize=512)
def _format_day(day: date, format: str, locale: str) -> str:
    """Babel's words for a day, kept: a receipt shows its date twice (text and HTML), and a
    storm of renewals a handful of days."""
    from babel.dates import format_date

    return format_date(day, format=format, locale=locale)


def month_year(value) -> str:
    """ "February 2022" / "Februar 2022": an article's month."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", _date_of(value), locale=rendering_locale())


def register_language_filters(app: Flask) -> None:
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.filters["medium_date"] = medium_date
    app.jinja_env.filters["month_year"] = month_year


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
