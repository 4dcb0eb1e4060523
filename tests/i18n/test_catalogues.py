"""Every shipped catalogue translates every source string: present, not fuzzy, every plural
form filled, the same placeholders. The source is extracted afresh from the code, so a string
wrapped today and missing from a catalogue fails here before any reader meets it."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.i18n.catalogues import (
    SHIPPED,
    TRANSLATIONS,
    catalogue_problems,
    extract_source,
    read_catalogue,
)

#: gettext's plural forms per language (English needs no catalogue: it is the source, and
#: gettext's fallback already says "1 supporter" / "2 supporters").
PLURAL_FORMS = {"de": 2, "fr": 2, "es": 2, "ru": 3}


@pytest.fixture(scope="module")
def source() -> Catalog:
    return extract_source()


def test_the_source_has_the_supporter_facing_strings_and_none_of_the_staff_ones(source):
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in source if m.id}
    for wanted in (
        "Donate securely",  # the donation form
        "Please check the highlighted fields.",  # its errors (Python)
        "Please enter the amount as a number, like 25 or 12.50.",  # money.py
        "One more step",  # the challenge
        "Make it monthly?",  # thanks
        "Sign in",  # accounts
        "Please enter your email address.",  # a form validator
        "Your regular gift has been changed",  # a mail subject
        "No gifts were recorded in this year.",  # the PDF statement
        "We couldn’t find that page",  # error pages
        "supporter",  # a plural (its singular is the key)
    ):
        assert wanted in ids, wanted
    places = {path for m in source for path, _ in m.locations}
    assert not [p for p in places if "dashboard" in p or "/staff_" in p], "staff pages stay English"


def test_every_shipped_language_has_a_catalogue_with_its_plural_forms():
    assert sorted(SHIPPED) == sorted(PLURAL_FORMS)
    for language in SHIPPED:
        assert (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").is_file(), language
        assert read_catalogue(language).num_plurals == PLURAL_FORMS[language], language


def test_the_committed_template_has_every_source_string(source):
    """`make messages` was run after the last string was wrapped (translators work from it)."""
    with open(TRANSLATIONS / "messages.pot", "rb") as file:
        template = read_po(file)
    missing = [
        m.id
        for m in source
        if m.id and template.get(m.id[0] if isinstance(m.id, tuple) else m.id, m.context) is None
    ]
    assert missing == [], "run `make messages`"


@pytest.mark.parametrize("language", SHIPPED)
def test_the_catalogue_translates_every_source_string(source, language):
    problems = catalogue_problems(source, read_catalogue(language))
    assert problems == [], f"{len(problems)} problems in {language}, e.g. {problems[:5]}"


def test_the_check_finds_missing_fuzzy_empty_and_mismatched_translations():
    """The check above can fail: each kind of gap in a catalogue is named."""
    source = Catalog(locale=None)
    source.add("Donate securely")
    source.add("Add %(fee)s so we receive all %(amount)s")
    source.add(("%(num)d supporter", "%(num)d supporters"))
    source.add("Sign in")
    source.add("Hello,")
    complete = Catalog(locale="ru")
    complete.add("Donate securely", "Пожертвовать безопасно")
    complete.add(
        "Add %(fee)s so we receive all %(amount)s", "Добавьте %(fee)s, и мы получим все %(amount)s"
    )
    complete.add(
        ("%(num)d supporter", "%(num)d supporters"),
        ("%(num)d сторонник", "%(num)d сторонника", "%(num)d сторонников"),
    )
    complete.add("Sign in", "Войти")
    complete.add("Hello,", "Здравствуйте,")
    assert catalogue_problems(source, complete) == []

    broken = Catalog(locale="ru")
    broken.add("Donate securely", "Пожертвовать", flags=["fuzzy"])
    broken.add("Add %(fee)s so we receive all %(amount)s", "Добавьте %(fee)s")
    broken.add(
        ("%(num)d supporter", "%(num)d supporters"), ("%(num)d сторонник", "%(num)d сторонника", "")
    )
    broken.add("Hello,", "")
    problems = catalogue_problems(source, broken)
    assert any(p.startswith("fuzzy: 'Donate securely'") for p in problems)
    assert any(p.startswith("placeholders differ in 'Add %(fee)s") for p in problems)
    assert any(
        p.startswith("untranslated (every form needed): '%(num)d supporter'") for p in problems
    )
    assert "missing: 'Sign in'" in problems
    assert "untranslated (every form needed): 'Hello,'" in problems
