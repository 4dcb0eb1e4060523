"""`flask campaign import PATH --slug SLUG --lang de`: the article in another language."""

from __future__ import annotations

from sqlalchemy import select

from fundraiser.cache import snapshots
from fundraiser.extensions import db
from fundraiser.models import Campaign, CampaignTranslation

GERMAN = """Was steckt hinter den Unruhen in Kasachstan?

Februar 2022

Truppen der OVKS in Kasachstan

Die Proteste begannen im Westen des Landes & breiteten sich <script>alert(1)</script> aus.

Nichts ist gelöst

Die Lage bleibt angespannt.
"""


def _import(runner, path, *extra):
    return runner.invoke(args=["campaign", "import", str(path), "--slug", "kazakhstan", *extra])


def test_german_article_is_stored_and_shown_on_the_german_page(
    app, client, runner, campaign, tmp_path
):
    before_etag = client.get("/de/").headers["ETag"]
    path = tmp_path / "de.txt"
    path.write_text(GERMAN, "utf-8")
    result = _import(runner, path, "--lang", "de")
    assert result.exit_code == 0, result.output
    assert "Created the 'de' article of campaign 'kazakhstan'" in result.output
    with app.app_context():
        [row] = db.session.scalars(select(CampaignTranslation)).all()
        assert (row.language, row.title) == ("de", "Was steckt hinter den Unruhen in Kasachstan?")
        # The campaign itself (its English article, goal, currency) is untouched.
        original = db.session.scalar(select(Campaign))
        assert original.title == "What lies behind Kazakhstan’s turmoil?"
        db.session.rollback()

    snapshots(app).clear()  # the page snapshot lives PAGE_SNAPSHOT_SECONDS (1 s), as for any edit
    german = client.get("/de/")
    assert german.headers["ETag"] != before_etag  # content_version moved: a fresh page
    markup = german.get_data(as_text=True)
    assert '<h1 class="article-title">Was steckt hinter den Unruhen in Kasachstan?</h1>' in markup
    assert 'lang="de">' in markup and "article-language-note" not in markup
    # The same importer and sanitiser: the script is text, never markup.
    assert "<script>alert(1)</script>" not in markup
    assert "&lt;script&gt;" in markup
    # Other languages still show the original, with the note.
    french = client.get("/fr/").get_data(as_text=True)
    assert "What lies behind Kazakhstan’s turmoil?" in french
    assert 'class="article-language-note" lang="fr"' in french
    assert '<article class="article-body" aria-labelledby="article-title-ref" lang="en">' in french
    english = client.get("/").get_data(as_text=True)
    assert "What lies behind Kazakhstan’s turmoil?" in english
    assert "article-language-note" not in english

    again = _import(runner, path, "--lang", "de")
    assert "Unchanged the 'de' article" in again.output


def test_translation_import_refuses_bad_input_and_changes_nothing(app, runner, campaign, tmp_path):
    path = tmp_path / "de.txt"
    path.write_text(GERMAN, "utf-8")
    for extra, message in [
        (["--lang", "xx"], "Unknown language 'xx'"),
        (["--lang", "en"], "import it without --lang"),
    ]:
        result = _import(runner, path, *extra)
        assert result.exit_code != 0 and message in result.output
    missing = runner.invoke(
        args=["campaign", "import", str(path), "--slug", "nope", "--lang", "de"]
    )
    assert missing.exit_code != 0 and "import the original article first" in missing.output
    no_goal = _import(runner, path)
    assert no_goal.exit_code != 0 and "--goal" in no_goal.output
    with app.app_context():
        assert db.session.scalars(select(CampaignTranslation)).all() == []
        db.session.rollback()
