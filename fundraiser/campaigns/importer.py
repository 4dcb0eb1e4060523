"""Turn a plain-text article (title, caption, paragraphs, headings, appeal, date) into Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DATE_RE = re.compile(
    r"^(?:(?P<day>\d{1,2})\s+)?(?P<month>" + "|".join(MONTHS) + r")\s+(?P<year>\d{4})$",
    re.IGNORECASE,
)
_TERMINAL_PUNCTUATION = tuple(".!?:;,\"'”’)…–—-")
_MAX_HEADING_CHARS = 90
_APPEAL_RE = re.compile(r"\bappeal\b", re.IGNORECASE)
_CAPTION_RE = re.compile(r"\(photo|photo:|©|credit:", re.IGNORECASE)
#: Lines that are the site's existing donation channels: kept as words, rendered as links.
CHANNEL_LINES = {
    "paypal": re.compile(r"^donate via paypal!?$", re.IGNORECASE),
    "patreon": re.compile(r"^become a patron at patreon!?$", re.IGNORECASE),
}
# Characters Markdown would otherwise read as syntax; "&" too, so that "&amp;" or "&copy;"
# in an article stays text rather than becoming an entity.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~{}&])")
_MD_LINE_START = re.compile(r"^(\s*)(\d+)([.)])(\s|$)|^(\s*)([-+=>])")


class ArticleFormatError(ValueError):
    """The file is not an article we can import; the message says why."""


@dataclass
class ParsedArticle:
    title: str
    published_on: date | None
    photo_caption: str
    body_markdown: str
    appeal_markdown: str
    headings: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


def escape_markdown(text: str) -> str:
    """Escape text so that Markdown shows it literally, every character kept."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)

    def escape_start(match: re.Match) -> str:
        if match.group(2) is not None:
            return f"{match.group(1)}{match.group(2)}\\{match.group(3)}{match.group(4)}"
        return f"{match.group(5)}\\{match.group(6)}"

    return _MD_LINE_START.sub(escape_start, escaped)


def parse_date(line: str) -> date | None:
    match = _DATE_RE.match(line.strip())
    if not match:
        return None
    month = next(i for i, m in enumerate(MONTHS, 1) if m.lower() == match["month"].lower())
    try:
        return date(int(match["year"]), month, int(match["day"] or 1))
    except ValueError:
        return None


def is_heading(line: str) -> bool:
    """A short line standing alone with no sentence punctuation at its end."""
    stripped = line.strip()
    return (
        0 < len(stripped) <= _MAX_HEADING_CHARS
        and not stripped.endswith(_TERMINAL_PUNCTUATION)
        and stripped[0].isupper()
        and parse_date(stripped) is None
        and len(stripped.split()) <= 12
    )


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise ArticleFormatError("The file is empty.")
    if b"\x00" in raw:
        raise ArticleFormatError("The file looks binary, not a plain-text article.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleFormatError(f"The file is not UTF-8 text (byte {exc.start}).") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _channel_link(line: str, slug: str) -> str | None:
    for channel, pattern in CHANNEL_LINES.items():
        if pattern.match(line.strip()):
            # The brand spelled one way on the page, however the article typed it.
            words = re.sub(r"paypal", "PayPal", line.strip(), flags=re.IGNORECASE)
            return f"[{escape_markdown(words)}](/out/{channel}?campaign={slug})"
    return None


def parse_article(raw: bytes, slug: str) -> ParsedArticle:
    """Parse the article; raise ArticleFormatError with a reason if it is not one."""
    lines = [line.strip() for line in _decode(raw).split("\n")]
    blocks = [line for line in lines if line]
    if len(blocks) < 2:
        raise ArticleFormatError("An article needs a title line and at least one paragraph.")
    title, rest = blocks[0], blocks[1:]
    if len(title) > 300:
        raise ArticleFormatError(
            "The first line should be the title, but it is over 300 characters."
        )

    published_on = None
    for index in (len(rest) - 1, 0):
        if rest and (found := parse_date(rest[index])):
            published_on = found
            rest.pop(index)
            break

    caption = ""
    if rest and _CAPTION_RE.search(rest[0]):
        caption = rest.pop(0)

    appeal_start = next(
        (i for i, line in enumerate(rest) if is_heading(line) and _APPEAL_RE.search(line)),
        len(rest),
    )
    body_lines, appeal_lines = rest[:appeal_start], rest[appeal_start:]
    article = ParsedArticle(title, published_on, caption, "", "")
    article.body_markdown = _to_markdown(body_lines, slug, article, nested=False)
    article.appeal_markdown = _to_markdown(appeal_lines, slug, article, nested=True)
    if not article.paragraphs:
        raise ArticleFormatError("The article has a title but no paragraphs of text.")
    return article


def _to_markdown(lines: list[str], slug: str, article: ParsedArticle, nested: bool) -> str:
    """Markdown for a run of lines; with nested=True headings after the first are h3."""
    parts = []
    seen_heading = False
    for line in lines:
        link = _channel_link(line, slug)
        if link:
            parts.append(link)
        elif is_heading(line):
            level = 3 if nested and seen_heading else 2
            parts.append("#" * level + " " + escape_markdown(line))
            article.headings.append(line)
            seen_heading = True
        else:
            parts.append(escape_markdown(line))
            article.paragraphs.append(line)
    return "\n\n".join(parts) + ("\n" if parts else "")
