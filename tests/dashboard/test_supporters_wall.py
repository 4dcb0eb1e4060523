"""The supporters wall: names, amounts and messages as donors and staff allowed; still cacheable."""

from __future__ import annotations

from sqlalchemy import select

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, DonationIntent
from tests.dashboard.conftest import csrf_token
from tests.dashboard.factories import gift_with_message


def wall_of(markup: str) -> str:
    start = markup.find('<section class="wall"')
    assert start >= 0, "no supporters wall on the page"
    return markup[start : markup.index("</section>", start)]


def gifts(app, campaign: str) -> dict[str, int]:
    with app.app_context():
        found = campaign_by_slug(campaign)
        ada = gift_with_message(found, "Keep going!", show_amount=True)
        anon = gift_with_message(found, "Secret admirer", name="Bob Jones", anonymous=True)
        quiet = gift_with_message(found, "", name="Cy Young", amount_minor=9900)
        rude = gift_with_message(found, "Something rude", name="Dee")
        return {"ada": ada.id, "anon": anon.id, "quiet": quiet.id, "rude": rude.id}


def test_the_wall_honours_anonymity_amounts_and_moderation(app, client, campaign):
    gifts(app, campaign)
    wall = wall_of(client.get("/").get_data(as_text=True))
    assert "<strong>Ada</strong> gave €25" in wall  # first name only, amount allowed
    assert "<strong>Anonymous</strong>" in wall and "Bob" not in wall
    assert "<strong>Cy</strong> gave" in wall and "€99" not in wall
    # Every message waits for moderation by default.
    assert "Keep going!" not in wall and "Secret admirer" not in wall and "rude" not in wall


def test_staff_approve_and_hide_messages_and_the_shared_page_follows(
    app, client, campaign, staff_client
):
    ids = gifts(app, campaign)
    first = client.get("/")
    staff = staff_client("staff")
    pending = staff.get("/staff/messages").get_data(as_text=True)
    assert "Keep going!" in pending and "Something rude" in pending and "Cy Young" not in pending
    token = csrf_token(staff, "/staff/messages")
    for intent, state in (
        (ids["ada"], "approved"),
        (ids["anon"], "approved"),
        (ids["rude"], "hidden"),
    ):
        response = staff.post(f"/staff/messages/{intent}/{state}", data={"csrf_token": token})
        assert response.status_code == 302
    again = client.get("/", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200, "the page's ETag must change with the wall"
    wall = wall_of(again.get_data(as_text=True))
    assert "Keep going!" in wall and "Secret admirer" in wall and "rude" not in wall
    assert "Bob" not in wall
    assert again.cache_control.public and "Set-Cookie" not in again.headers
    assert "Cookie" not in again.headers.get("Vary", "")
    assert "Something rude" in staff.get("/staff/messages?state=hidden").get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert actions.count("message.approved") == 2 and "message.hidden" in actions


def test_a_viewer_reads_messages_but_cannot_moderate(app, campaign, staff_client):
    ids = gifts(app, campaign)
    viewer = staff_client("viewer")
    page = viewer.get("/staff/messages").get_data(as_text=True)
    assert "Keep going!" in page and ">Approve</button>" not in page
    token = csrf_token(viewer, "/staff/messages")
    response = viewer.post(f"/staff/messages/{ids['ada']}/approved", data={"csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(DonationIntent, ids["ada"]).message_status == "pending"


def test_moderating_a_missing_message_is_404_and_a_bad_state_400(app, campaign, staff_client):
    ids = gifts(app, campaign)
    staff = staff_client("staff")
    token = csrf_token(staff, "/staff/messages")
    assert (
        staff.post(
            f"/staff/messages/{ids['quiet']}/approved", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        staff.post("/staff/messages/999999/approved", data={"csrf_token": token}).status_code == 404
    )
    assert staff.get("/staff/messages?state=bogus").status_code == 400
