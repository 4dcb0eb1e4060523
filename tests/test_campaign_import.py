"""`flask campaign import|list` and the article parser behind them."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import select

from fundraiser.campaigns.content import render_markdown
from fundraiser.campaigns.importer import (
    ArticleFormatError,
    escape_markdown,
    is_heading,
    parse_article,
)
from fundraiser.extensions import db
from fundraiser.models import Campaign
from tests.factories import add_payment


def import_args(path, slug="kazakhstan", goal="5000", currency="EUR", *extra) -> list[str]:
    return [
        "campaign",
        "import",
        str(path),
        "--slug",
        slug,
        "--goal",
        goal,
        "--currency",
        currency,
        *extra,
    ]


def campaigns_snapshot(app) -> list[dict]:
    """Every campaign row, every column: what "nothing changed" is compared against."""
    with app.app_context():
        rows = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
        columns = [column.key for column in Campaign.__table__.columns]
        snapshot = [{key: getattr(row, key) for key in columns} for row in rows]
        db.session.rollback()
    return snapshot


def visible_text(markup: str) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", str(markup))
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


def test_editor_imports_the_seed_article_as_a_campaign(app, runner, seed_path):
    result = runner.invoke(args=import_args(seed_path, "kazakhstan", "5000", "eur", "--default"))
    assert result.exit_code == 0, result.output
    assert "Created campaign 'kazakhstan'" in result.output
    [row] = campaigns_snapshot(app)
    assert row["title"] == "What lies behind Kazakhstan’s turmoil?"
    assert row["published_on"] == date(2022, 2, 1)
    assert row["photo_caption"].startswith('CSTO "peacekeeping forces" in Kazakhstan')
    assert row["goal_minor"] == 500_000 and row["currency"] == "EUR"
    assert row["is_default"] and row["is_open"]
    assert "## Nothing resolved" in row["body_markdown"]
    assert "## Perspective and programme" in row["body_markdown"]
    assert row["appeal_markdown"].startswith(
        "## Special financial appeal to all readers of socialistworld.net"
    )
    assert "(/out/paypal?campaign=kazakhstan)" in row["appeal_markdown"]
    assert "(/out/patreon?campaign=kazakhstan)" in row["appeal_markdown"]


def test_reimporting_the_same_article_changes_nothing(app, runner, seed_path):
    assert runner.invoke(args=import_args(seed_path)).exit_code == 0
    before = campaigns_snapshot(app)
    result = runner.invoke(args=import_args(seed_path))
    assert result.exit_code == 0, result.output
    assert "Unchanged campaign 'kazakhstan'" in result.output
    after = campaigns_snapshot(app)
    assert len(after) == 1
    assert after[0]["id"] == before[0]["id"]
    assert after[0]["content_version"] == before[0]["content_version"]
    assert after == before


def test_reimporting_with_a_new_goal_updates_in_place_and_bumps_the_version(app, runner, seed_path):
    runner.invoke(args=import_args(seed_path, "kazakhstan", "5000"))
    [before] = campaigns_snapshot(app)
    result = runner.invoke(args=import_args(seed_path, "kazakhstan", "7500.50"))
    assert result.exit_code == 0, result.output
    assert "Updated campaign 'kazakhstan'" in result.output
    [after] = campaigns_snapshot(app)
    assert after["id"] == before["id"]
    assert after["goal_minor"] == 750_050
    assert after["content_version"] == before["content_version"] + 1


def test_default_flag_moves_the_landing_page_to_the_new_campaign(app, runner, client, seed_path):
    runner.invoke(args=import_args(seed_path, "kazakhstan", "5000", "EUR", "--default"))
    result = runner.invoke(args=import_args(seed_path, "second-appeal", "100", "GBP", "--default"))
    assert result.exit_code == 0, result.output
    defaults = {row["slug"]: row["is_default"] for row in campaigns_snapshot(app)}
    assert defaults == {"kazakhstan": False, "second-appeal": True}
    assert "£100 goal" in visible_text(client.get("/").get_data(as_text=True))


def test_reimport_without_the_default_flag_keeps_the_default(app, runner, seed_path):
    runner.invoke(args=import_args(seed_path, "kazakhstan", "5000", "EUR", "--default"))
    runner.invoke(args=import_args(seed_path, "kazakhstan", "6000"))
    [row] = campaigns_snapshot(app)
    assert row["is_default"]


def _write(tmp_path, content: bytes):
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    return path


BAD_FILES = {
    "empty file": (b"", "empty"),
    "whitespace only": (b"  \n\t\r\n   \n", "empty"),
    "binary with NUL": (b"Title\n\nBody\x00\x01\x02 paragraph.\n", "binary"),
    "not UTF-8": ("Titre\n\nUn café à Paris.\n".encode("latin-1"), "not UTF-8"),
    "title only": (b"Just a title\n\n\n", "title line and at least one paragraph"),
    "title and date only": (b"Just a title\n\nFebruary 2022\n", "no paragraphs"),
}


@pytest.mark.parametrize("content,message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_malformed_article_is_refused_and_nothing_changes(
    app, runner, seed_path, tmp_path, content, message
):
    runner.invoke(args=import_args(seed_path, "kazakhstan", "5000", "EUR", "--default"))
    before = campaigns_snapshot(app)
    result = runner.invoke(args=import_args(_write(tmp_path, content)))
    assert result.exit_code != 0
    assert "Error:" in result.output and message in result.output
    assert "Traceback" not in result.output
    assert campaigns_snapshot(app) == before


BAD_OPTIONS = {
    "currency EURO": ({"currency": "EURO"}, "EURO is not an ISO 4217 currency"),
    "currency XYZ": ({"currency": "XYZ"}, "XYZ is not an ISO 4217 currency"),
    "currency gold": ({"currency": "XAU"}, "not a currency we take donations in"),
    "goal -5": ({"goal": "-5"}, "more than zero"),
    "goal abc": ({"goal": "abc"}, "as a number"),
    "goal 1e3": ({"goal": "1e3"}, "as a number"),
    "goal zero": ({"goal": "0"}, "more than zero"),
    "goal with cents in JPY": ({"goal": "10.5", "currency": "JPY"}, "whole numbers"),
    "slug with space": ({"slug": "Bad Slug!"}, "slug 'bad slug!'"),
    "slug of hyphens": ({"slug": "--"}, "single hyphens"),
    "slug not ASCII": ({"slug": "café"}, "letters a-z"),
}


@pytest.mark.parametrize("options,message", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_slug_goal_or_currency_is_refused_and_nothing_changes(
    app, runner, seed_path, options, message
):
    runner.invoke(args=import_args(seed_path, "kazakhstan", "5000", "EUR", "--default"))
    before = campaigns_snapshot(app)
    values = {"slug": "kazakhstan", "goal": "9000", "currency": "EUR"} | options
    result = runner.invoke(
        args=import_args(seed_path, values["slug"], values["goal"], values["currency"], "--default")
    )
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert campaigns_snapshot(app) == before


def test_missing_file_is_refused_with_its_name(app, runner, tmp_path):
    missing = tmp_path / "no-such-article.txt"
    result = runner.invoke(args=import_args(missing))
    assert result.exit_code != 0
    assert f"Cannot read {missing}" in result.output
    assert "No such file" in result.output
    assert campaigns_snapshot(app) == []


def test_campaign_list_prints_slugs_totals_and_supporters(app, runner, seed_path):
    assert "No campaigns yet" in runner.invoke(args=["campaign", "list"]).output
    runner.invoke(args=import_args(seed_path, "kazakhstan", "5000", "EUR", "--default"))
    runner.invoke(args=import_args(seed_path, "quiet-one", "250", "GBP"))
    with app.app_context():
        add_payment("kazakhstan", 2_500, email="a@example.org")
        add_payment("kazakhstan", 1_000, email="b@example.org")
    result = runner.invoke(args=["campaign", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    [first] = [line for line in lines if line.startswith("kazakhstan ")]
    assert re.search(r"€35\.00 of\s+€5,000\.00\s+2 supporters\s+default$", first)
    [second] = [line for line in lines if line.startswith("quiet-one ")]
    assert re.search(r"£0\.00 of\s+£250\.00\s+0 supporters$", second)


# The parser, without the database.

LITERAL_LINES = [
    "Stars *around* words and __under_scores__ stay as typed",
    "# A hash at the start is not a heading",
    "1. A number and a full stop at the start is not a list",
    "1990. A year ending a sentence-start stays text",
    "2) Nor is a number and a parenthesis",
    "- a dash, + a plus, > a quote sign at the start",
    "<script>alert('no')</script> is shown, never run",
    "[x](y) and ![alt](src) are shown literally, not as a link or an image",
    "Backslash \\ and `backticks` and ~~tildes~~ and a|pipe",
    "Entities stay text: &amp; &copy; &#65; AT&T",
    "Trailing sign =",
]


@pytest.mark.parametrize("line", LITERAL_LINES)
def test_article_text_is_shown_exactly_as_written(line):
    rendered = render_markdown(escape_markdown(line))
    assert visible_text(rendered) == line
    assert not re.search(r"<(h\d|ol|ul|li|a|img|script|em|strong|code|blockquote)\b", rendered)


def test_markup_in_an_imported_article_is_text_not_html():
    raw = (
        "A <b>title</b>\n\n"
        + "\n\n".join(LITERAL_LINES[1:])
        + "\n\nThe last paragraph, with an ending.\n"
    ).encode()
    article = parse_article(raw, "demo")
    rendered = render_markdown(article.body_markdown)
    text = visible_text(rendered)
    position = 0
    for line in LITERAL_LINES[1:]:
        found = text.find(line, position)
        assert found >= 0, line
        position = found + len(line)
    assert "<script>" not in rendered and "<b>" not in rendered
    assert article.title == "A <b>title</b>"


@pytest.mark.parametrize(
    "line,expected",
    [
        ("Nothing resolved", True),
        ("Perspective and programme", True),
        ("Special financial appeal to all readers of socialistworld.net", True),
        ("A sentence that ends like one.", False),
        ("Is this a question?", False),
        ("lower-case start is prose", False),
        ("February 2022", False),
        ("Twelve words is the most a heading may have before it reads as prose", False),
        ("X" * 91, False),
        ("", False),
    ],
)
def test_short_unpunctuated_lines_are_headings(line, expected):
    assert is_heading(line) is expected


def test_headings_become_h2_and_appeal_subheadings_h3():
    raw = (
        b"Title\n\nFirst paragraph, with a comma.\n\nA section\n\nSecond paragraph.\n\n"
        b"Special appeal to readers\n\nHelp us\n\nPlease give.\n"
    )
    article = parse_article(raw, "demo")
    assert article.headings == ["A section", "Special appeal to readers", "Help us"]
    assert "<h2>A section</h2>" in render_markdown(article.body_markdown)
    appeal = render_markdown(article.appeal_markdown)
    assert "<h2>Special appeal to readers</h2>" in appeal and "<h3>Help us</h3>" in appeal
    assert article.paragraphs == [
        "First paragraph, with a comma.",
        "Second paragraph.",
        "Please give.",
    ]


@pytest.mark.parametrize(
    "raw,published_on",
    [
        ("Title\n\nA paragraph.\n\nFebruary 2022\n", date(2022, 2, 1)),
        ("Title\n\n14 March 2021\n\nA paragraph.\n", date(2021, 3, 14)),
        ("Title\n\nA paragraph.\n\n3 december 2020", date(2020, 12, 3)),
        ("Title\n\nA paragraph.\n\n31 February 2022\n", None),
        ("Title\n\nA paragraph.\n", None),
    ],
    ids=["month at end", "day at start", "lower-case month", "impossible day", "no date"],
)
def test_publication_date_is_found_at_the_end_or_the_start(raw, published_on):
    article = parse_article(raw.encode(), "demo")
    assert article.published_on == published_on
    expected_paragraphs = ["A paragraph."] + (["31 February 2022"] if "31 Feb" in raw else [])
    assert article.paragraphs == expected_paragraphs


def test_windows_line_endings_and_bom_are_accepted():
    article = parse_article("\ufeffTitle\r\n\r\nA paragraph.\r\n".encode(), "demo")
    assert article.title == "Title" and article.paragraphs == ["A paragraph."]


def test_caption_is_recognised_by_its_photo_credit():
    raw = b"Title\n\nMarchers in the rain (photo: A. Person)\n\nA paragraph.\n"
    article = parse_article(raw, "demo")
    assert article.photo_caption == "Marchers in the rain (photo: A. Person)"
    assert article.paragraphs == ["A paragraph."]


def test_overlong_title_is_refused():
    with pytest.raises(ArticleFormatError, match="over 300 characters"):
        parse_article(("T" * 301 + "\n\nA paragraph.\n").encode(), "demo")
