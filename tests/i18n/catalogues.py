"""What the language tests compare: the source strings (extracted afresh, as `make messages`
does), the shipped catalogues, and the visible text of a rendered page."""

from __future__ import annotations

import html
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from fundraiser.i18n import DEFAULT_LANGUAGE, LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
#: Every language but the source's ships a catalogue.
SHIPPED = [language for language in LANGUAGES if language != DEFAULT_LANGUAGE]
#: Where gettext strings live (babel.cfg decides which files inside them are read).
SOURCE_DIRS = ("fundraiser", "templates")

PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[sdifr]|\{(\w+)\}")


def extraction_keywords() -> dict:
    """The keywords `make messages` passes to pybabel (-k …), on top of babel's defaults."""
    makefile = (ROOT / "Makefile").read_text("utf-8")
    line = next(line for line in makefile.splitlines() if "pybabel extract" in line)
    words = shlex.split(line)
    extra = [words[i + 1] for i, word in enumerate(words) if word == "-k"]
    return {**DEFAULT_KEYWORDS, **parse_keywords(extra)}


def extract_source() -> Catalog:
    """The source strings as they are in the code now (not the committed messages.pot)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)

    def wanted(path: str) -> bool:
        relative = Path(path).relative_to(ROOT).parts
        return relative[0] in SOURCE_DIRS and not relative[-1].startswith((".", "_"))

    catalog = Catalog(locale=None)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=extraction_keywords(), directory_filter=wanted
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read_catalogue(language: str) -> Catalog:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as file:
        return read_po(file, locale=language)


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER_RE.findall(text or "")}


def _forms(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def catalogue_problems(source: Catalog, catalog: Catalog) -> list[str]:
    """Why `catalog` does not yet translate `source` completely and correctly (empty: it does)."""
    problems = []
    for message in source:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        found = catalog.get(key, context=message.context)
        if found is None:
            problems.append(f"missing: {key!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        strings = _forms(found.string)
        wanted_forms = catalog.num_plurals if isinstance(message.id, tuple) else 1
        if len(strings) < wanted_forms or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated (every form needed): {key!r}")
            continue
        names = set().union(*(placeholders(part) for part in _forms(message.id)))
        for string in strings:
            got = placeholders(string)
            # A plural form may leave the count out ("one supporter"); every other name stays.
            if got - names or (names - {"num", "count"}) - got:
                problems.append(f"placeholders differ in {key!r}: {sorted(names)} vs {string!r}")
    return problems


def english_to_find(catalog: Catalog, source: Catalog | None = None) -> set[str]:
    """Source strings (as a reader sees them) that must not show on a page in the catalogue's
    language: all of them, except those the catalogue translates with the very same words
    ("Name" in German) — a missing, empty or fuzzy entry counts as not translated."""
    found = set()
    messages = list(catalog) + [m for m in (source or []) if m.id and m.id not in catalog]
    for message in messages:
        if not message.id:
            continue
        translations = [visible(t) for t in _forms(message.string) if t] if message.string else []
        usable = translations and not message.fuzzy and all(_forms(message.string))
        for part in _forms(message.id):
            shown = visible(part)
            if shown and not (usable and shown in translations):
                found.add(shown)
    return found


def visible(text: str) -> str:
    """A string as it shows on a page: tags gone, entities decoded, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


class _TextNodes(HTMLParser):
    """Text a reader meets: text nodes and the attributes read out or shown (labels,
    placeholders, titles), outside scripts and outside content marked as in another
    language or as the campaign's own article (content, not interface)."""

    SHOWN_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt", "data-label")
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
            "track", "wbr"}  # fmt: skip

    def __init__(self, language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.language = language
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.texts: list[str] = []

    def _skipping(self) -> bool:
        return any(skipped for _, skipped in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        lang = attributes.get("lang")
        skipped = (
            tag in ("script", "style", "template")
            or (lang is not None and tag != "html" and not lang.startswith(self.language))
            or "article-body" in classes
            or "appeal" in classes
        )
        if not self._skipping() and not skipped:
            for name in self.SHOWN_ATTRIBUTES:
                if attributes.get(name):
                    self.texts.append(visible(attributes[name]))
            if tag == "meta" and attributes.get("name") == "description":
                self.texts.append(visible(attributes.get("content") or ""))
        if tag not in self.VOID:
            self.stack.append((tag, skipped))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.texts.append(visible(data))


def page_texts(markup: str, language: str) -> list[str]:
    parser = _TextNodes(language)
    parser.feed(markup)
    return parser.texts


def _pattern(source: str) -> re.Pattern | None:
    """A sentence with placeholders as a pattern over a page's text; None when what is fixed
    in it is too short to tell it from other words."""
    parts = PLACEHOLDER_RE.split(source)
    literals = [part for i, part in enumerate(parts) if i % 3 == 0]
    if sum(len(part.strip()) for part in literals) < 15:
        return None
    return re.compile(".+?".join(re.escape(part) for part in literals))


def untranslated_on_page(
    markup: str, language: str, catalog: Catalog, source: Catalog | None = None
) -> list[str]:
    """English source strings a page in `language` still shows (see `english_to_find`): whole
    text nodes, and sentences with values or markup inside."""
    others = english_to_find(catalog, source)
    texts = page_texts(markup, language)
    found = sorted({text for text in texts if text in others})
    whole = " ".join(texts)
    for english in others:
        if english in found:
            continue
        pattern = _pattern(english)
        if pattern is not None and pattern.search(whole):
            found.append(english)
    return found
