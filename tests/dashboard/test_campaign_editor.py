"""Staff create and edit campaigns in the browser: the CLI's validation, nothing half-saved,
every change audited, the public page fresh at once."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select

from fundraiser.campaigns.services import campaign_by_slug, import_campaign
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Campaign
from tests.dashboard import factories as f
from tests.dashboard.conftest import csrf_token

ARTICLE = (
    b"Workers strike across the region\n\n"
    b"(Photo: a picket line, CC)\n\n"
    b"Thousands walked out on Monday.\n\n"
    b"What comes next\n\n"
    b"The unions meet again this week.\n\n"
    b"Support our appeal\n\n"
    b"Every gift keeps us independent.\n\n"
    b"3 March 2026\n"
)

GOOD = {
    "title": "Strike wave",
    "slug": "strike-wave",
    "body_markdown": "## What happened\n\nThousands *walked out*.",
    "appeal_markdown": "Please give.",
    "published_on": "2026-03-03",
    "photo_caption": "A picket line",
    "currency": "EUR",
    "goal_minor": "5000",
    "opens_on": "2026-03-01",
    "closes_on": "2026-04-30",
}


def post_editor(client, path: str, data: dict, **extra):
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token, **data, **extra})


def counts(app) -> tuple[int, int]:
    with app.app_context():
        campaigns = db.session.scalar(select(func.count()).select_from(Campaign))
        audits = db.session.scalar(
            select(func.count()).where(AuditEntry.action.startswith("campaign."))
        )
        return campaigns, audits


def test_staff_create_a_campaign_and_readers_see_it(app, staff_client):
    client = staff_client("staff")
    response = post_editor(client, "/staff/campaigns/new", GOOD, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/staff/campaigns/strike-wave"
    with app.app_context():
        made = campaign_by_slug("strike-wave")
        assert (made.goal_minor, made.currency, made.is_open) == (500_000, "EUR", True)
        assert str(made.opens_on) == "2026-03-01" and str(made.closes_on) == "2026-04-30"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.created"))
        assert entry.target == "campaign:strike-wave" and entry.actor.startswith("staff:")
        assert json.loads(entry.detail)["changes"]["goal_minor"] == [None, 500_000]
    page = app.test_client().get("/campaigns/strike-wave").get_data(as_text=True)
    assert "Strike wave" in page and "<em>walked out</em>" in page


def test_an_uploaded_article_is_read_as_the_cli_reads_it(app, staff_client, tmp_path):
    client = staff_client("admin")
    upload = {"article_file": (io.BytesIO(ARTICLE), "strike.txt")}
    data = GOOD | {"slug": "from-file", "title": "", "body_markdown": ""}
    response = post_editor(client, "/staff/campaigns/new", data | upload, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    path = tmp_path / "strike.txt"
    path.write_bytes(ARTICLE)
    with app.app_context():
        uploaded = campaign_by_slug("from-file")
        shown = {c: getattr(uploaded, c) for c in ("title", "body_markdown", "appeal_markdown")}
        shown |= {"published_on": uploaded.published_on, "caption": uploaded.photo_caption}
        db.session.rollback()
        cli = import_campaign(path, "from-cli", "5000", "EUR").campaign
        expected = {c: getattr(cli, c) for c in ("title", "body_markdown", "appeal_markdown")}
        expected |= {"published_on": cli.published_on, "caption": cli.photo_caption}
        db.session.rollback()
    assert shown == expected
    assert shown["title"] == "Workers strike across the region"


def test_preview_shows_sanitised_html_and_saves_nothing(app, staff_client):
    client = staff_client("staff")
    data = GOOD | {"body_markdown": "Hello <script>alert(1)</script> [x](javascript:alert(1))"}
    before = counts(app)
    response = post_editor(client, "/staff/campaigns/new", data, preview="1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Preview (not saved yet)" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript' not in page
    assert counts(app) == before


BAD = [
    ({"slug": "Not A Slug!"}, "slug", "must be letters a-z"),
    ({"slug": ""}, "slug", "must be letters a-z"),
    ({"currency": "XYZ"}, "currency", "Not a valid choice"),
    ({"goal_minor": "lots"}, "goal_minor", "as a number"),
    ({"goal_minor": "12.345"}, "goal_minor", "at most 2 decimal places"),
    ({"goal_minor": "0"}, "goal_minor", "more than zero"),
    ({"goal_minor": ""}, "goal_minor", "Please enter an amount"),
    ({"title": ""}, "title", "Please enter the title"),
    ({"body_markdown": "   "}, "body_markdown", "Please enter the article"),
    ({"closes_on": "2026-02-01"}, "closes_on", "before the open date"),
    ({"published_on": "3rd of March"}, "published_on", "Not a valid date"),
    ({"title": "x" * 301}, "title", "300 characters"),
    ({"presets_monthly": "5,x"}, "presets_monthly", "whole amounts separated by commas"),
    ({"presets_monthly": "0,5"}, "presets_monthly", "each more than zero"),
    ({"presets_monthly": "1,2,3,4,5,6"}, "presets_monthly", "between 1 and 5 amounts"),
    ({"presets_monthly": "5,5"}, "presets_monthly", "may appear once"),
    ({"presets_one_time": "10,20000"}, "presets_one_time", "largest gift we take online"),
    (
        {"presets_yearly": "50,100", "impacts_yearly": "70 = Not a rung"},
        "impacts_yearly",
        "not one of the presets",
    ),
    (
        {"presets_yearly": "50", "impacts_yearly": "50 = " + "x" * 121},
        "impacts_yearly",
        "under 120 characters",
    ),
    ({"presets_yearly": "50", "impacts_yearly": "fifty"}, "impacts_yearly", "AMOUNT=TEXT"),
    ({"impacts_monthly": "5 = A pen"}, "impacts_monthly", "need the campaign"),
    # One good ladder beside a bad one: neither is kept, nor the title changed with them.
    (
        {"presets_one_time": "10,20", "presets_monthly": "-3"},
        "presets_monthly",
        "each more than zero",
    ),
    ({"default_frequency": "weekly"}, "default_frequency", "Not a valid choice"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_refused_and_nothing_is_half_saved(app, staff_client, change, field, message):
    client = staff_client("staff")
    with app.app_context():
        existing = f.make_campaign("existing", "GBP", goal_minor=100_000, title="Old title")
        before_row = {c.key: getattr(existing, c.key) for c in Campaign.__table__.c}
    before = counts(app)
    created = post_editor(client, "/staff/campaigns/new", GOOD | change, save="1")
    edited = post_editor(
        client, "/staff/campaigns/existing/edit", GOOD | {"slug": "existing"} | change, save="1"
    )
    for response in (created, edited):
        page = response.get_data(as_text=True)
        assert response.status_code == 400, page
        assert "Nothing was saved" in page
        assert f'id="{field}-error"' in page and message in page, page
    assert counts(app) == before
    with app.app_context():
        after = db.session.scalar(select(Campaign).where(Campaign.slug == "existing"))
        assert {c.key: getattr(after, c.key) for c in Campaign.__table__.c} == before_row


def test_staff_set_ladders_impact_lines_and_default_frequency_and_readers_see_them(
    app, staff_client
):
    with app.app_context():
        f.make_campaign("ladders", "EUR", title="Ladders", is_default=True)
    reader = app.test_client()
    assert 'id="freq-one-time" name="frequency" value="one-time" checked' in reader.get(
        "/"
    ).get_data(as_text=True)
    client = staff_client("staff")
    data = GOOD | {
        "slug": "ladders",
        "default_frequency": "monthly",
        "presets_monthly": "20, 5,10",
        "impacts_monthly": "10 = Pays for a week of <b>translation</b>\r\n\r\n5=A\tnotebook",
    }
    response = post_editor(client, "/staff/campaigns/ladders/edit", data, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        saved = campaign_by_slug("ladders")
        assert saved.default_frequency == "monthly"
        assert saved.preset_ladders == {
            "monthly": [
                {"amount": 5, "impact": "A notebook"},
                {"amount": 10, "impact": "Pays for a week of <b>translation</b>"},
                {"amount": 20, "impact": ""},
            ]
        }
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "campaign.updated")
        ).one()
        changes = json.loads(entry.detail)["changes"]
        assert changes["default_frequency"] == ["one-time", "monthly"]
        assert changes["preset_ladders"][0] is None
    public = reader.get("/").get_data(as_text=True)  # the snapshot was refreshed at once
    assert 'id="freq-monthly" name="frequency" value="monthly" checked' in public
    assert re.findall(r'<label for="amount-\d+">([^<]+)</label>', public) == ["€5", "€10", "€20"]
    assert "Pays for a week of &lt;b&gt;translation&lt;/b&gt;" in public  # text, not markup
    # The editor shows what was saved, and the others' standard amounts as placeholders.
    form = client.get("/staff/campaigns/ladders/edit").get_data(as_text=True)
    values = _form_values(form)
    assert values["presets_monthly"] == "5, 10, 20"
    assert values["impacts_monthly"].strip().splitlines() == [
        "5 = A notebook",
        "10 = Pays for a week of <b>translation</b>",
    ]
    assert values["presets_one_time"] == "" and 'placeholder="10, 25, 50, 100, 250"' in form
    # Emptying a ladder goes back to the standard amounts.
    again = values | {"presets_monthly": "", "impacts_monthly": ""}
    again.pop("csrf_token", None)
    response = post_editor(client, "/staff/campaigns/ladders/edit", again, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert campaign_by_slug("ladders").preset_ladders is None


def test_a_slug_in_use_or_with_gifts_is_refused(app, staff_client):
    client = staff_client("staff")
    with app.app_context():
        f.make_campaign("taken")
        given = f.make_campaign("given-to")
        f.payment(given, 1000)
    before = counts(app)
    response = post_editor(client, "/staff/campaigns/new", GOOD | {"slug": "taken"}, save="1")
    assert response.status_code == 400 and "already uses the slug" in response.get_data(True)
    response = post_editor(
        client, "/staff/campaigns/given-to/edit", GOOD | {"slug": "renamed"}, save="1"
    )
    assert response.status_code == 400 and "can no longer change" in response.get_data(True)
    assert counts(app) == before


def test_a_binary_upload_is_refused_with_the_importers_reason(app, staff_client):
    client = staff_client("staff")
    before = counts(app)
    upload = {"article_file": (io.BytesIO(b"\x00\x01PNG"), "photo.png")}
    response = post_editor(client, "/staff/campaigns/new", GOOD | upload, save="1")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "looks binary" in page
    assert counts(app) == before


def test_an_edit_reaches_the_public_page_at_once_and_is_audited(app, staff_client, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SNAPSHOT_SECONDS", 60)  # as in production, longer
    with app.app_context():
        f.make_campaign("live", "EUR", title="Before the edit", is_default=True)
    reader = app.test_client()
    assert "Before the edit" in reader.get("/campaigns/live").get_data(as_text=True)
    assert "Before the edit" in reader.get("/").get_data(as_text=True)
    client = staff_client("staff")
    data = GOOD | {"slug": "live", "title": "After the edit", "goal_minor": "7500"}
    response = post_editor(client, "/staff/campaigns/live/edit", data, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "After the edit" in reader.get("/campaigns/live").get_data(as_text=True)
    assert "After the edit" in reader.get("/").get_data(as_text=True)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.updated"))
        changes = json.loads(entry.detail)["changes"]
        assert changes["title"] == ["Before the edit", "After the edit"]
        assert changes["goal_minor"] == [500_000, 750_000]
        assert changes["body_markdown"] == ["(changed)", "(changed)"]


def test_staff_make_a_campaign_the_default_from_the_editor(app, staff_client):
    with app.app_context():
        f.make_campaign("first", is_default=True, title="First appeal")
        f.make_campaign("second", title="Second appeal")
    client = staff_client("staff")
    form = client.get("/staff/campaigns/second/edit").get_data(as_text=True)
    assert 'value="5000.00"' in form or 'value="5000"' in form  # the goal in major units
    data = GOOD | {"slug": "second", "title": "Second appeal", "make_default": "y"}
    assert post_editor(client, "/staff/campaigns/second/edit", data, save="1").status_code == 302
    assert "Second appeal" in app.test_client().get("/").get_data(as_text=True)


def test_viewers_read_campaigns_but_cannot_edit_them(app, staff_client):
    with app.app_context():
        f.make_campaign("readonly")
    viewer = staff_client("viewer")
    listing = viewer.get("/staff/campaigns").get_data(as_text=True)
    assert "New campaign" not in listing and "/edit" not in listing
    assert viewer.get("/staff/campaigns/readonly/edit").status_code == 403
    assert "New campaign" in staff_client("staff").get("/staff/campaigns").get_data(as_text=True)


def _noisy_jpeg(width: int = 1200, height: int = 800) -> bytes:
    """A real photo-sized JPEG (noise compresses badly, so it is larger than a form body)."""
    import os

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        buffer, "JPEG", quality=95
    )
    return buffer.getvalue()


def test_staff_upload_a_photo_in_the_editor_and_readers_see_it(app, staff_client, campaign):
    photo = _noisy_jpeg()
    assert len(photo) > app.config["MAX_CONTENT_LENGTH"]  # only the editor takes this much
    client = staff_client("staff")
    path = f"/staff/campaigns/{campaign}/edit"
    page = client.get(path).get_data(as_text=True)
    values = {name: value for name, value in _form_values(page).items() if name != "csrf_token"}
    data = values | {"photo_file": (io.BytesIO(photo), "picket.jpg")}
    response = post_editor(client, path, data, save="1")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    public = app.test_client().get("/").get_data(as_text=True)
    assert 'srcset="/media/kazakhstan-' in public
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "campaign.photo"))
        assert entry is not None
    # Every other route still refuses a body of that size.
    too_big = client.post("/staff/account/password", data={"password": "x" * len(photo)})
    assert too_big.status_code == 413


def test_a_file_that_is_not_a_photo_is_refused_in_the_editor(app, staff_client, campaign):
    client = staff_client("staff")
    path = f"/staff/campaigns/{campaign}/edit"
    values = {k: v for k, v in _form_values(client.get(path).get_data(as_text=True)).items()}
    values.pop("csrf_token", None)
    before = counts(app)
    data = values | {"title": "Changed title", "photo_file": (io.BytesIO(b"not a photo"), "x.jpg")}
    response = post_editor(client, path, data, save="1")
    assert response.status_code == 400
    assert "photo we can read" in response.get_data(as_text=True)
    assert counts(app) == before
    with app.app_context():
        assert campaign_by_slug(campaign).title != "Changed title"
        assert campaign_by_slug(campaign).photo_key is None


def _form_values(page: str) -> dict[str, str]:
    """The editor form's current values as a browser would send them back."""
    import html
    import re

    values = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        values[name] = html.unescape(value)
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        values[name] = html.unescape(value).lstrip("\n")
    for name, block in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(
            r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)" selected', block
        )
        if chosen:
            values[name] = chosen.group(1) or chosen.group(2)
    values.pop("make_default", None)
    return values
