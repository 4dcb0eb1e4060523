"""Dashboard fixtures: staff accounts of every role, signed-in clients, CSRF-aware posting."""

from __future__ import annotations

import re
import time

import pytest

from fundraiser.extensions import db
from tests.dashboard.factories import make_staff
from tests.helpers import signed_in_session

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    """The CSRF token from a page's form, as a browser would send it back."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict, token_from: str, **kwargs):
    return client.post(path, data={"csrf_token": csrf_token(client, token_from), **data}, **kwargs)


def sign_in_session(client, staff) -> None:
    """Mark the client's session as signed in with the second factor passed (what login does)."""
    signed_in_session(client, staff.id, staff.session_version)
    with client.session_transaction() as session:
        session["staff_2fa"] = staff.session_version
        session["staff_2fa_at"] = int(time.time())


def enter_password(client, staff):
    """Step one of the staff sign-in: email and password on /staff/login."""
    credentials = {"email": staff.email, "password": staff.password}
    return post_form(client, "/staff/login", credentials, token_from="/staff/login")


def sign_in(client, staff, code: str | None = None):
    """The real two-step sign-in through the pages; returns the response to the code step."""
    response = enter_password(client, staff)
    assert response.status_code == 302, response.get_data(as_text=True)
    step = response.headers["Location"]
    return post_form(client, step, {"code": code or staff.code()}, token_from=step)


@pytest.fixture
def staff_of(app):
    """Make a staff account of a role: staff_of("viewer")."""

    def make(role: str = "admin", **kwargs):
        with app.app_context():
            return make_staff(role, **kwargs)

    return make


@pytest.fixture
def staff_client(app, staff_of):
    """A test client signed in (with the second factor) as a new account of the given role."""

    def make(role: str = "admin"):
        client = app.test_client()
        sign_in_session(client, staff_of(role))
        return client

    return make


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()
