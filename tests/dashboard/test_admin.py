"""Admins manage the team (roles, disabling, 2FA resets) and open, close and choose campaigns."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Campaign, Supporter
from tests.dashboard import factories as f
from tests.dashboard.conftest import post_form, sign_in_session


def _admin_client(app, staff_of):
    admin = staff_of("admin")
    client = app.test_client()
    sign_in_session(client, admin)
    return client, admin


def _member(app, member_id: int) -> Supporter:
    with app.app_context():
        member = db.session.get(Supporter, member_id)
        db.session.expunge(member)
        return member


def test_admin_changes_a_role_and_the_member_is_signed_out(app, staff_of):
    client, admin = _admin_client(app, staff_of)
    colleague = staff_of("viewer")
    colleague_client = app.test_client()
    sign_in_session(colleague_client, colleague)
    response = post_form(
        client, f"/staff/team/{colleague.id}/role", {"role": "staff"}, token_from="/staff/team"
    )
    assert response.status_code == 302
    assert _member(app, colleague.id).role == "staff"
    assert colleague_client.get("/staff/").status_code == 302  # must sign in again
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "staff.role_changed")
        )
        assert entry.actor == f"staff:{admin.id}" and entry.target == f"supporter:{colleague.id}"


def test_an_unknown_role_is_refused(app, staff_of):
    client, _ = _admin_client(app, staff_of)
    colleague = staff_of("viewer")
    response = post_form(
        client, f"/staff/team/{colleague.id}/role", {"role": "owner"}, token_from="/staff/team"
    )
    assert response.status_code == 400
    assert _member(app, colleague.id).role == "viewer"


def test_the_last_admin_cannot_be_demoted_or_disabled(app, staff_of):
    client, admin = _admin_client(app, staff_of)
    post_form(client, f"/staff/team/{admin.id}/role", {"role": "viewer"}, "/staff/team")
    post_form(client, f"/staff/team/{admin.id}/disable", {}, "/staff/team")
    assert "That is the last active admin" in unescape(client.get("/staff/team").get_data(True))
    member = _member(app, admin.id)
    assert member.role == "admin" and member.is_active


def test_admin_disables_enables_and_resets_a_second_factor(app, staff_of):
    client, _ = _admin_client(app, staff_of)
    colleague = staff_of("staff")
    post_form(client, f"/staff/team/{colleague.id}/disable", {}, "/staff/team")
    assert not _member(app, colleague.id).is_active
    post_form(client, f"/staff/team/{colleague.id}/enable", {}, "/staff/team")
    assert _member(app, colleague.id).is_active
    post_form(client, f"/staff/team/{colleague.id}/reset-2fa", {}, "/staff/team")
    member = _member(app, colleague.id)
    assert member.totp_secret is None and member.totp_recovery_hashes == "[]"


def test_supporters_are_not_team_members(app, staff_of):
    client, _ = _admin_client(app, staff_of)
    reader = staff_of("supporter")
    response = post_form(client, f"/staff/team/{reader.id}/disable", {}, "/staff/team")
    assert response.status_code == 404
    assert reader.email not in client.get("/staff/team").get_data(as_text=True)


def test_admin_closes_reopens_and_chooses_the_default_campaign(app, staff_of):
    with app.app_context():
        f.make_campaign("first", is_default=True)
        f.make_campaign("second")
    client, _ = _admin_client(app, staff_of)
    post_form(client, "/staff/campaigns/first/close", {}, "/staff/campaigns")
    post_form(client, "/staff/campaigns/second/default", {}, "/staff/campaigns")
    with app.app_context():
        first, second = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
        assert (first.is_open, first.is_default) == (False, False)
        assert second.is_default
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"campaign.closed", "campaign.made_default"} <= actions
    post_form(client, "/staff/campaigns/first/open", {}, "/staff/campaigns")
    with app.app_context():
        assert db.session.scalar(select(Campaign.is_open).where(Campaign.slug == "first"))
    assert (
        post_form(client, "/staff/campaigns/nope/open", {}, "/staff/campaigns").status_code == 404
    )


def test_audit_log_names_staff_by_email_and_filters_by_action(app, staff_of):
    client, admin = _admin_client(app, staff_of)
    colleague = staff_of("viewer")
    post_form(client, f"/staff/team/{colleague.id}/disable", {}, "/staff/team")
    page = client.get("/staff/audit?action=staff.").get_data(as_text=True)
    assert "staff.disabled" in page and admin.email in page
    assert "staff.disabled" not in client.get("/staff/audit?action=refund").get_data(as_text=True)
    assert client.get("/staff/audit?page=-1").status_code == 400
