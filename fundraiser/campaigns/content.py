"""Article Markdown to safe HTML: markdown-it for the parsing, nh3 for the sanitising."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_ALLOWED_TAGS = {"p", "h2", "h3", "h4", "em", "strong", "a", "blockquote", "ul", "ol", "li", "br"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}

# Raw HTML in the source stays text; typographer off keeps quotes exactly as written.
_markdown = MarkdownIt("commonmark", {"html": False, "typographer": False})


@lru_cache(maxsize=256)
def _render(markdown_text: str) -> str:
    html = _markdown.render(markdown_text)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def render_markdown(markdown_text: str) -> Markup:
    """Sanitised HTML for a campaign's Markdown, cached by content (it changes only on import)."""
    return Markup(_render(markdown_text))  # noqa: S704 - sanitised by nh3 just above


def summary(markdown_text: str, limit: int = 160) -> str:
    """The article's first paragraph as plain text, cut at a word, for meta and share cards."""
    first = re.search(r"<p>(.*?)</p>", _render(markdown_text), re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", "", first.group(1) if first else ""))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:–—-") + "…"
