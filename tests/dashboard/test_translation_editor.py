"""Staff write a campaign's article in other languages in the editor: the CLI's importer and
checks, nothing half-saved, every change audited, the language's page fresh at once."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from fundraiser.campaigns import translations
from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.dashboard.campaigns import MAX_MARKDOWN_CHARS
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, CampaignTranslation
from tests.dashboard import factories as f
from tests.dashboard.conftest import csrf_token
from tests.i18n.test_campaign_translations import GERMAN

GOOD = {
    "title": "Streikwelle in der Region",
    "body_markdown": "## Was geschah\n\nTausende *streikten*.",
    "appeal_markdown": "Bitte spendet.",
    "photo_caption": "Eine Streikpostenkette",
}
NOTE = "article-language-note"


def post(client, path: str, data: dict, **extra):
    token = csrf_token(client, "/staff/login")
    return client.post(path, data={"csrf_token": token, **data, **extra})


def state(app, slug: str = "live") -> tuple:
    """Every translation row, the campaign's content_version and the translation audit rows."""
    with app.app_context():
        rows = db.session.scalars(select(CampaignTranslation).order_by(CampaignTranslation.id))
        shown = [
            (r.language, *(getattr(r, n) for n in translations.TRANSLATED_FIELDS)) for r in rows
        ]
        audits = db.session.scalar(
            select(func.count()).where(AuditEntry.action.startswith("campaign.translation"))
        )
        return shown, campaign_by_slug(slug).content_version, audits


def audit_rows(app, action: str) -> list[dict]:
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()
        return [{"target": e.target, "actor": e.actor, **json.loads(e.detail)} for e in entries]


@pytest.fixture
def live(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SNAPSHOT_SECONDS", 60)  # as in production, longer
    with app.app_context():
        f.make_campaign("live", "EUR", title="Strike wave in the region", is_default=True)
    return "live"


def test_staff_translate_edit_and_delete_an_article_and_the_page_follows_at_once(
    app, staff_client, live
):
    reader = app.test_client()
    before = reader.get("/de/campaigns/live").get_data(as_text=True)
    assert "Strike wave in the region" in before and NOTE in before
    assert NOTE in reader.get("/de/").get_data(as_text=True)  # kept as a snapshot for 60 s
    client = staff_client("staff")

    page = client.get("/staff/campaigns/live/edit").get_data(as_text=True)
    assert 'id="translations"' in page
    for code in ("de", "fr", "es", "ru"):
        assert f'href="/staff/campaigns/live/translations/{code}"' in page
        assert f'href="/{code}/campaigns/live"' in page
    assert page.count("None: shows the original with a note") == 4

    response = post(client, "/staff/campaigns/live/translations/de", GOOD, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/staff/campaigns/live/edit#translations"
    for path in ("/de/campaigns/live", "/de/"):  # the snapshot was refreshed at once
        german = reader.get(path).get_data(as_text=True)
        assert "Streikwelle in der Region" in german and "<em>streikten</em>" in german, path
        assert NOTE not in german and "Eine Streikpostenkette" in german
    english = reader.get("/campaigns/live").get_data(as_text=True)
    assert "Strike wave in the region" in english and "Streikwelle" not in english
    assert NOTE in reader.get("/fr/campaigns/live").get_data(as_text=True)
    [created] = audit_rows(app, "campaign.translation_created")
    assert created["target"] == "campaign:live" and created["actor"].startswith("staff:")
    assert created["language"] == "de"
    assert created["changes"]["title"] == [None, "Streikwelle in der Region"]
    assert created["changes"]["body_markdown"] == ["(changed)", "(changed)"]

    page = client.get("/staff/campaigns/live/edit").get_data(as_text=True)
    assert page.count("None: shows the original with a note") == 3
    assert "Translated, updated" in page
    form = client.get("/staff/campaigns/live/translations/de").get_data(as_text=True)
    assert 'value="Streikwelle in der Region"' in form and "Delete Deutsch article" in form

    changed = GOOD | {"title": "Neuer Titel"}
    response = post(client, "/staff/campaigns/live/translations/de", changed, save="1")
    assert response.status_code == 302
    assert "Neuer Titel" in reader.get("/de/campaigns/live").get_data(as_text=True)
    [updated] = audit_rows(app, "campaign.translation_updated")
    assert updated["changes"] == {"title": ["Streikwelle in der Region", "Neuer Titel"]}
    # Saving the same words again changes nothing and logs nothing.
    again = post(client, "/staff/campaigns/live/translations/de", changed, save="1")
    assert again.status_code == 302 and len(audit_rows(app, "campaign.translation_updated")) == 1

    # Deleting asks for the box to be ticked; then the page shows the original with its note.
    before = state(app)
    unconfirmed = post(client, "/staff/campaigns/live/translations/de/delete", {})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm" in unconfirmed.get_data(as_text=True)
    assert state(app) == before
    deleted = post(client, "/staff/campaigns/live/translations/de/delete", {"confirm": "y"})
    assert deleted.status_code == 302
    assert deleted.headers["Location"] == "/staff/campaigns/live/edit#translations"
    german = reader.get("/de/campaigns/live").get_data(as_text=True)
    assert "Strike wave in the region" in german and NOTE in german and "Neuer Titel" not in german
    assert state(app)[0] == []
    [removed] = audit_rows(app, "campaign.translation_deleted")
    assert (removed["language"], removed["title"]) == ("de", "Neuer Titel")
    gone = post(client, "/staff/campaigns/live/translations/de/delete", {"confirm": "y"})
    assert gone.status_code == 404


def test_an_uploaded_translation_is_read_as_the_cli_reads_it(
    app, staff_client, campaign, runner, tmp_path
):
    client = staff_client("admin")
    upload = {"article_file": (io.BytesIO(GERMAN.encode()), "de.txt")}
    data = {"title": "", "body_markdown": "", "appeal_markdown": "", "photo_caption": ""}
    response = post(client, f"/staff/campaigns/{campaign}/translations/de", data | upload, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    path = tmp_path / "de.txt"
    path.write_text(GERMAN, "utf-8")
    result = runner.invoke(
        args=["campaign", "import", str(path), "--slug", campaign, "--lang", "fr"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        rows = {
            row.language: {n: getattr(row, n) for n in translations.TRANSLATED_FIELDS}
            for row in db.session.scalars(select(CampaignTranslation))
        }
    assert rows["de"] == rows["fr"]
    assert rows["de"]["title"] == "Was steckt hinter den Unruhen in Kasachstan?"
    german = app.test_client().get("/de/").get_data(as_text=True)
    assert "Was steckt hinter den Unruhen" in german and "&lt;script&gt;" in german


def test_preview_shows_sanitised_html_and_saves_nothing(app, staff_client, live):
    client = staff_client("staff")
    body = "Hallo <script>alert(1)</script> [x](javascript:alert(1)) *fett*"
    before = state(app)
    response = post(
        client, "/staff/campaigns/live/translations/fr", GOOD | {"body_markdown": body}, preview="1"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Preview (not saved yet)" in page
    assert '<div class="editor-preview article-body" lang="fr">' in page
    assert "<em>fett</em>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript' not in page
    assert state(app) == before


BAD = [
    ({"title": ""}, "title", "Please enter the title"),
    ({"title": "x" * 301}, "title", "300 characters"),
    ({"body_markdown": "   "}, "body_markdown", "Please enter the article"),
    ({"body_markdown": "x" * (MAX_MARKDOWN_CHARS + 1)}, "body_markdown", "under 200 KB"),
    ({"appeal_markdown": "x" * (MAX_MARKDOWN_CHARS + 1)}, "appeal_markdown", "under 200 KB"),
    ({"photo_caption": "x" * 1001}, "photo_caption", "1000 characters"),
    (
        {"article_file": (io.BytesIO(b"\x00\x01PNG"), "photo.png")},
        "article_file",
        "looks binary",
    ),
    ({"article_file": (io.BytesIO(b"Only a title\n"), "a.txt")}, "article_file", "a title line"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_refused_and_nothing_is_half_saved(
    app, staff_client, live, change, field, message
):
    with app.app_context():
        translations.save_translation(campaign_by_slug("live"), "fr", GOOD | {"title": "Vague"})
        db.session.commit()
    client = staff_client("staff")
    before = state(app)
    for language in ("de", "fr"):  # a new translation, and an existing one
        data = dict(GOOD | change)
        if "article_file" in data:  # a file can be sent once
            name = data["article_file"][1]
            data["article_file"] = (io.BytesIO(change["article_file"][0].getvalue()), name)
        response = post(client, f"/staff/campaigns/live/translations/{language}", data, save="1")
        page = response.get_data(as_text=True)
        assert response.status_code == 400, page[:500]
        assert "Nothing was saved" in page
        assert f'id="{field}-error"' in page and message in page, page[:3000]
        assert state(app) == before


@pytest.mark.parametrize(
    "path",
    [
        "/staff/campaigns/live/translations/xx",
        "/staff/campaigns/live/translations/en",
        "/staff/campaigns/live/translations/DE",
        "/staff/campaigns/nowhere/translations/de",
        "/staff/campaigns/live/translations/xx/delete",
        "/staff/campaigns/live/translations/en/delete",
    ],
)
def test_an_unknown_language_or_campaign_is_not_found_and_nothing_is_saved(
    app, staff_client, live, path
):
    client = staff_client("staff")
    before = state(app)
    if not path.endswith("/delete"):
        assert client.get(path).status_code == 404
    assert post(client, path, GOOD | {"confirm": "y"}, save="1").status_code == 404
    assert state(app) == before
