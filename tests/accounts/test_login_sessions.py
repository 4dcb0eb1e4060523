"""Pen-test finding: signing out ends the session on the server; idle staff sessions end."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from flask_login.utils import encode_cookie

from fundraiser.extensions import db
from fundraiser.models import LoginSession, utcnow
from tests.accounts.conftest import login, logout, make_supporter, submit
from tests.dashboard.conftest import csrf_token, sign_in
from tests.dashboard.factories import make_staff

SESSION_COOKIE = "session"


def _copy_of_cookie(client) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def _browser_with(app, cookie_value: str):
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, cookie_value)
    return thief


def test_a_copied_supporter_cookie_stops_working_when_they_sign_out(client, app):
    with app.app_context():
        make_supporter("copy@example.org")
    login(client, "copy@example.org")
    copied = _copy_of_cookie(client)
    assert _browser_with(app, copied).get("/account").status_code == 200
    logout(client)
    assert _browser_with(app, copied).get("/account").status_code == 302


def test_a_forged_remember_cookie_does_not_sign_anyone_in(client, app):
    with app.app_context():
        supporter = make_supporter("remember@example.org")
        user_id = supporter.get_id()
        remember = encode_cookie(user_id)
    login(client, "remember@example.org")
    logout(client)
    visitor = app.test_client()
    visitor.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), remember)
    assert visitor.get("/account").status_code == 302


def test_signing_in_twice_ends_the_first_session(client, app):
    with app.app_context():
        make_supporter("twice@example.org")
    login(client, "twice@example.org")
    copied = _copy_of_cookie(client)
    login(client, "twice@example.org")
    assert client.get("/account").status_code == 200
    assert _browser_with(app, copied).get("/account").status_code == 302


def _signed_in_staff(app, role: str = "admin"):
    with app.app_context():
        staff = make_staff(role)
    client = app.test_client()
    response = sign_in(client, staff)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 200
    return client


def test_a_copied_staff_cookie_stops_working_at_staff_logout(app):
    client = _signed_in_staff(app)
    copied = _copy_of_cookie(client)
    assert _browser_with(app, copied).get("/staff/").status_code == 200
    token = csrf_token(client, "/staff/")
    assert client.post("/staff/logout", data={"csrf_token": token}).status_code == 302
    replay = _browser_with(app, copied).get("/staff/")
    assert replay.status_code == 302 and "/staff/login" in replay.location


def test_idle_staff_session_ends_after_the_configured_minutes(app):
    assert app.config["STAFF_IDLE_MINUTES"] == 30
    client = _signed_in_staff(app)
    with time_machine.travel(utcnow() + timedelta(minutes=25)):
        assert client.get("/staff/").status_code == 200  # activity keeps it alive
    with time_machine.travel(utcnow() + timedelta(minutes=50)):
        assert client.get("/staff/").status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=82)):
        answer = client.get("/staff/")
    assert answer.status_code == 302 and "/staff/login" in answer.location
    assert client.get("/staff/").status_code == 302  # and it stays ended


def test_supporter_sessions_have_no_idle_limit_of_the_staff_kind(client, app):
    with app.app_context():
        make_supporter("idle@example.org")
    login(client, "idle@example.org")
    with time_machine.travel(utcnow() + timedelta(hours=3)):
        assert client.get("/account").status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(app):
    client = _signed_in_staff(app, "viewer")
    with app.app_context():
        first = db.session.scalar(db.select(LoginSession.last_seen_at))
    for _ in range(3):
        client.get("/staff/")
    with app.app_context():
        assert db.session.scalar(db.select(LoginSession.last_seen_at)) == first
    with time_machine.travel(utcnow() + timedelta(minutes=2)):
        client.get("/staff/")
    with app.app_context():
        assert db.session.scalar(db.select(LoginSession.last_seen_at)) > first


def test_sign_out_everywhere_ends_every_session_record(client, app):
    with app.app_context():
        make_supporter("all@example.org")
    phone = app.test_client()
    login(client, "all@example.org")
    login(phone, "all@example.org")
    submit(client, "/account/settings", action="/account/logout-everywhere")
    with app.app_context():
        live = db.session.scalars(db.select(LoginSession).filter_by(revoked_at=None)).all()
        assert live == []
    assert phone.get("/account").status_code == 302
