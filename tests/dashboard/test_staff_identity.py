"""Staff identities are managed only behind the second factor: staff change their own password
in /staff (re-entering the current one), and the last active admin can never be removed."""

from __future__ import annotations

import os
import threading
from html import unescape

import pytest
import requests
from sqlalchemy import select, update

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Supporter
from tests.dashboard.conftest import enter_password, post_form, sign_in, sign_in_session
from tests.dashboard.factories import STAFF_PASSWORD, make_staff
from tests.dashboard.test_concurrent_codes import CSRF_RE, _pending_sign_in

NEW_PASSWORD = "a brand new staff passphrase"


def _change(client, current: str, new: str, confirm: str | None = None):
    data = {"current_password": current, "password": new, "confirm": confirm or new}
    return post_form(client, "/staff/account/password", data, token_from="/staff/account")


def _member(app, member_id: int) -> Supporter:
    with app.app_context():
        member = db.session.get(Supporter, member_id)
        db.session.expunge(member)
        return member


class TestOwnPassword:
    def test_staff_change_their_password_after_entering_the_current_one(self, app, staff_of):
        staff = staff_of("viewer")
        client, elsewhere = app.test_client(), app.test_client()
        sign_in(client, staff)
        sign_in_session(elsewhere, staff)
        response = _change(client, STAFF_PASSWORD, NEW_PASSWORD)
        assert response.status_code == 302 and response.headers["Location"] == "/staff/account"
        assert client.get("/staff/").status_code == 200  # this session carries on
        assert elsewhere.get("/staff/").status_code == 302  # every other one has ended
        login = app.test_client()
        for password, status in ((STAFF_PASSWORD, 400), (NEW_PASSWORD, 302)):
            credentials = {"email": staff.email, "password": password}
            answer = post_form(login, "/staff/login", credentials, "/staff/login")
            assert answer.status_code == status
        with app.app_context():
            assert "staff.password_changed" in set(db.session.scalars(select(AuditEntry.action)))

    def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failure(self, app, staff_of):
        staff = staff_of("staff")
        client = app.test_client()
        sign_in_session(client, staff)
        response = _change(client, "not my password", NEW_PASSWORD)
        assert response.status_code == 400
        assert "current password isn't right" in unescape(response.get_data(as_text=True))
        member = _member(app, staff.id)
        assert member.failed_sign_ins == 1
        assert member.session_version == staff.session_version

    def test_a_weak_or_mistyped_new_password_is_refused_with_a_reason(self, app, staff_of):
        staff = staff_of("staff")
        client = app.test_client()
        sign_in_session(client, staff)
        weak = _change(client, STAFF_PASSWORD, "password")
        assert weak.status_code == 400
        assert "at least 10 characters" in unescape(weak.get_data(as_text=True))
        mistyped = _change(client, STAFF_PASSWORD, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
        assert mistyped.status_code == 400
        assert "don't match" in unescape(mistyped.get_data(as_text=True))
        assert _member(app, staff.id).session_version == staff.session_version

    def test_the_password_alone_cannot_change_the_password(self, app, staff_of):
        staff = staff_of("admin")
        client = app.test_client()
        enter_password(client, staff)  # no second factor yet
        assert client.get("/staff/account").status_code == 302
        token_page = client.get("/staff/login/code").get_data(as_text=True)
        token = CSRF_RE.search(token_page).group(1)
        response = client.post(
            "/staff/account/password",
            data={"csrf_token": token, "current_password": STAFF_PASSWORD,
                  "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )  # fmt: skip
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
        assert _member(app, staff.id).session_version == staff.session_version


class TestLastAdmin:
    def test_the_command_line_cannot_disable_the_last_admin(self, app, runner, staff_of):
        admin = staff_of("admin")
        result = runner.invoke(args=["staff", "disable", admin.email])
        assert result.exit_code != 0 and "last active admin" in result.output
        assert _member(app, admin.id).is_active

    def test_the_command_line_cannot_demote_the_last_admin(self, app, runner, staff_of, tmp_path):
        admin = staff_of("admin")
        secret = tmp_path / "password"
        secret.write_text(NEW_PASSWORD)
        result = runner.invoke(
            args=["staff", "create", admin.email, "--role", "viewer", "--password-file",
                  str(secret)]
        )  # fmt: skip
        assert result.exit_code != 0 and "last active admin" in result.output
        assert _member(app, admin.id).role == "admin"

    def test_the_command_line_disables_an_admin_while_another_remains(self, app, runner, staff_of):
        first, _ = staff_of("admin"), staff_of("admin")
        assert runner.invoke(args=["staff", "disable", first.email]).exit_code == 0
        assert not _member(app, first.id).is_active

    def test_an_erased_admin_does_not_count_as_the_other_admin(self, app, staff_of):
        admin, erased = staff_of("admin"), staff_of("admin")
        with app.app_context():
            from fundraiser.models import utcnow

            db.session.execute(
                update(Supporter).where(Supporter.id == erased.id).values(deleted_at=utcnow())
            )
            db.session.commit()
        client = app.test_client()
        sign_in_session(client, admin)
        post_form(client, f"/staff/team/{admin.id}/role", {"role": "staff"}, "/staff/team")
        assert _member(app, admin.id).role == "admin"


def _signed_in_browser(base: str, staff) -> requests.Session:
    browser = _pending_sign_in(base, staff)
    token = CSRF_RE.search(browser.get(f"{base}/staff/login/code", timeout=30).text).group(1)
    browser.post(
        f"{base}/staff/login/code",
        data={"csrf_token": token, "code": staff.code()},
        allow_redirects=False,
        timeout=30,
    )
    assert browser.get(f"{base}/staff/", allow_redirects=False, timeout=30).status_code == 200
    return browser


def _remove_each_other(base: str, pair: list) -> None:
    """Each admin of the pair, signed in in their own browser, removes the other at once."""
    browsers = [_signed_in_browser(base, admin) for admin in pair]
    tokens = [
        CSRF_RE.search(b.get(f"{base}/staff/team", timeout=30).text).group(1) for b in browsers
    ]
    start = threading.Barrier(2)

    def remove_the_other(index: int) -> None:
        other = pair[1 - index]
        action = "disable" if index == 0 else "role"
        start.wait()
        browsers[index].post(
            f"{base}/staff/team/{other.id}/{action}",
            data={"csrf_token": tokens[index], "role": "viewer"},
            allow_redirects=False,
            timeout=60,
        )

    threads = [threading.Thread(target=remove_the_other, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.mark.postgres_only
def test_two_admins_removing_each_other_at_once_leave_one(app, live_server):
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL (set TEST_DATABASE_URL)")
    for round_number in range(3):
        with app.app_context():  # the survivors of earlier rounds step aside
            db.session.execute(update(Supporter).values(is_active=False))
            db.session.commit()
            pair = [make_staff("admin"), make_staff("admin")]
        _remove_each_other(live_server.url, pair)
        with app.app_context():
            admins = db.session.scalars(
                select(Supporter).where(Supporter.role == "admin", Supporter.is_active.is_(True))
            ).all()
            assert len(admins) == 1, f"round {round_number}: {len(admins)} active admins"
