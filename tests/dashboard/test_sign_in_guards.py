"""Failed staff sign-ins are counted per account on the server (not in the cookie), lock the
account for growing times and warn the account and the admins; the TOTP secret being
enrolled stays on the server."""

from __future__ import annotations

import json
from html import unescape

import time_machine
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Supporter
from tests.accounts.conftest import Mailbox
from tests.dashboard.conftest import csrf_token, enter_password, post_form, sign_in
from tests.dashboard.factories import STAFF_PASSWORD

SESSION_COOKIE = "session"


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _mailbox(app) -> Mailbox:
    from pathlib import Path

    box = Mailbox(Path(app.config["MAIL_OUTBOX"]))
    box.clear()
    return box


def _password_from(app, address: str, email: str, password: str):
    """One browser at `address` trying a password on the staff sign-in page."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return post_form(client, "/staff/login", {"email": email, "password": password}, "/staff/login")


def test_replaying_the_cookie_from_before_wrong_codes_does_not_reset_the_count(app, staff_of):
    staff = staff_of("admin")
    client = app.test_client()
    enter_password(client, staff)
    token = csrf_token(client, "/staff/login/code")
    fresh = client.get_cookie(SESSION_COOKIE).value  # zero wrong codes in this cookie
    for _ in range(8):
        client.set_cookie(SESSION_COOKIE, fresh)
        client.post("/staff/login/code", data={"csrf_token": token, "code": _wrong(staff.code())})
    client.set_cookie(SESSION_COOKIE, fresh)
    response = client.post("/staff/login/code", data={"csrf_token": token, "code": staff.code()})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert client.get("/staff/").status_code == 302
    with app.app_context():
        assert db.session.get(Supporter, staff.id).failed_sign_ins >= 5


def _locked_until(app, staff_id: int) -> float:
    with app.app_context():
        return db.session.get(Supporter, staff_id).sign_in_locked_until.timestamp()


def test_a_wrong_password_for_a_staff_email_from_many_addresses_locks_the_account(app, staff_of):
    staff = staff_of("staff")
    for number in range(5):
        response = _password_from(app, f"198.51.100.{number}", staff.email, "not the password")
        assert response.status_code == 400
    right = _password_from(app, "203.0.113.9", staff.email, STAFF_PASSWORD)
    assert right.status_code == 429
    assert "Too many failed sign-ins" in unescape(right.get_data(as_text=True))
    with time_machine.travel(_locked_until(app, staff.id) + 1, tick=False):
        assert _password_from(app, "203.0.113.9", staff.email, STAFF_PASSWORD).status_code == 302


def test_each_lockout_past_the_threshold_lasts_twice_as_long(app, staff_of):
    staff = staff_of("viewer")
    for number in range(5):
        _password_from(app, f"198.51.100.{number}", staff.email, "wrong")
    first_end = _locked_until(app, staff.id)
    with time_machine.travel(first_end + 1, tick=False):
        assert _password_from(app, "198.51.100.7", staff.email, "wrong").status_code == 400
        assert _password_from(app, "198.51.100.7", staff.email, STAFF_PASSWORD).status_code == 429
    second_end = _locked_until(app, staff.id)
    assert round(second_end - (first_end + 1)) == 120  # the second lockout is 2 minutes
    with time_machine.travel(second_end - 5, tick=False):
        assert _password_from(app, "198.51.100.8", staff.email, STAFF_PASSWORD).status_code == 429
    with time_machine.travel(second_end + 1, tick=False):
        response = _password_from(app, "198.51.100.8", staff.email, STAFF_PASSWORD)
        assert response.status_code == 302


def test_a_lockout_mails_the_account_and_every_admin_once(app, staff_of):
    box = _mailbox(app)
    staff = staff_of("viewer")
    admins = [staff_of("admin"), staff_of("admin")]
    for number in range(9):
        _password_from(app, f"198.51.100.{number}", staff.email, "wrong")
    recipients = sorted(message["To"] for message in box.messages())
    assert recipients == sorted([staff.email] + [a.email for a in admins])
    assert staff.email in Mailbox.text(box.last(admins[0].email))
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action)))
        assert actions.count("staff.sign_in_locked") == 1


def test_admins_see_failed_sign_ins_and_lockouts_on_the_team_page(app, staff_of, staff_client):
    staff = staff_of("viewer")
    for number in range(5):
        _password_from(app, f"198.51.100.{number}", staff.email, "wrong")
    page = unescape(staff_client("admin").get("/staff/team").get_data(as_text=True))
    assert "5 failed sign-ins" in page and "locked until" in page


def test_wrong_codes_count_towards_the_same_lock_as_wrong_passwords(app, staff_of):
    staff = staff_of("viewer")
    for number in range(3):
        _password_from(app, f"198.51.100.{number}", staff.email, "wrong")
    client = app.test_client()
    enter_password(client, staff)
    token = csrf_token(client, "/staff/login/code")
    for _ in range(2):
        client.post("/staff/login/code", data={"csrf_token": token, "code": _wrong(staff.code())})
    assert _password_from(app, "203.0.113.1", staff.email, STAFF_PASSWORD).status_code == 429


def test_a_full_sign_in_clears_the_count(app, staff_of):
    staff = staff_of("viewer")
    for number in range(4):
        _password_from(app, f"198.51.100.{number}", staff.email, "wrong")
    assert sign_in(app.test_client(), staff).status_code == 302
    with app.app_context():
        account = db.session.get(Supporter, staff.id)
        assert account.failed_sign_ins == 0 and account.sign_in_locked_until is None
    for number in range(4):
        _password_from(app, f"198.51.100.{number}", staff.email, "wrong")
    assert _password_from(app, "203.0.113.1", staff.email, STAFF_PASSWORD).status_code == 302


def _session_contents(app, client) -> str:
    """The session cookie as anyone holding it can read it: raw, and decoded without the key
    being needed (Flask's cookie is signed, not encrypted; the decoding here uses the key only
    because that is the shortest way to get the payload)."""
    raw = client.get_cookie(SESSION_COOKIE).value
    serializer = app.session_interface.get_signing_serializer(app)
    return raw + json.dumps(serializer.loads(raw))


def test_the_totp_secret_being_enrolled_is_never_in_the_session_cookie(app, staff_of):
    staff = staff_of("staff", enrolled=False)
    client = app.test_client()
    enter_password(client, staff)
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    secret = page.split("data-secret>")[1].split("<")[0]
    assert len(secret) >= 16
    assert secret not in _session_contents(app, client)
    response = post_form(client, "/staff/login/enrol", {"code": "000000"}, "/staff/login/enrol")
    assert response.status_code == 400
    assert secret not in _session_contents(app, client)
    assert secret in client.get("/staff/login/enrol").get_data(as_text=True)  # same secret


def test_a_newer_sign_in_replaces_the_secret_an_older_one_was_shown(app, staff_of):
    import pyotp

    staff = staff_of("staff", enrolled=False)
    first, second = app.test_client(), app.test_client()
    enter_password(first, staff)
    token = csrf_token(first, "/staff/login/enrol")
    page = first.get("/staff/login/enrol").get_data(as_text=True)
    old = page.split("data-secret>")[1].split("<")[0]
    enter_password(second, staff)
    response = first.post(
        "/staff/login/enrol", data={"csrf_token": token, "code": pyotp.TOTP(old).now()}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert first.get("/staff/").status_code == 302
    with app.app_context():
        assert db.session.get(Supporter, staff.id).totp_secret is None
