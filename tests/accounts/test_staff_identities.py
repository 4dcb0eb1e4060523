"""Pen-test finding: staff identities are not erased or re-passworded through /account."""

from __future__ import annotations

import pytest

from fundraiser.extensions import db
from fundraiser.models import Supporter
from tests.accounts.conftest import login, submit
from tests.dashboard.factories import STAFF_PASSWORD, make_staff

STAFF_DASHBOARD = "/staff/account"


@pytest.fixture(params=["viewer", "staff", "admin"])
def staff(request, app):
    with app.app_context():
        return make_staff(request.param)


def _account(app, staff) -> Supporter:
    with app.app_context():
        account = db.session.get(Supporter, staff.id)
        db.session.expunge(account)
        return account


def test_staff_cannot_erase_their_account_from_account_pages(client, app, staff):
    assert login(client, staff.email, STAFF_PASSWORD).status_code == 302
    page = client.get("/account/delete")
    assert page.status_code == 403 and STAFF_DASHBOARD in page.get_data(as_text=True)
    answer = submit(
        client,
        "/account/settings",
        {"password": STAFF_PASSWORD, "confirm": "y"},
        action="/account/delete",
    )
    assert answer.status_code == 403
    assert STAFF_DASHBOARD in answer.get_data(as_text=True)
    account = _account(app, staff)
    assert account.deleted_at is None and account.is_active and account.email == staff.email
    link = submit(client, "/account/settings", action="/account/delete/link")
    assert link.status_code == 403


def test_staff_cannot_change_their_password_from_account_pages(client, app, staff):
    before = _account(app, staff).password_hash
    login(client, staff.email, STAFF_PASSWORD)
    assert STAFF_DASHBOARD in client.get("/account/settings").get_data(as_text=True)
    answer = submit(
        client,
        "/account/settings",
        {"current_password": STAFF_PASSWORD, "password": "a new staff password"},
        action="/account/settings/password",
    )
    assert answer.status_code == 403
    assert STAFF_DASHBOARD in answer.get_data(as_text=True)
    assert _account(app, staff).password_hash == before


def test_a_reset_link_never_changes_a_staff_password(client, app, staff, mailbox):
    before = _account(app, staff).password_hash
    submit(client, "/account/reset", {"email": staff.email})
    mail = mailbox.last(staff.email)
    assert "/account/reset/" not in mailbox.text(mail)
    assert STAFF_DASHBOARD in mailbox.text(mail)
    # A link made before the account became staff is refused too.
    with app.app_context():
        from fundraiser.accounts.tokens import make_link_token

        token = make_link_token(db.session.get(Supporter, staff.id), "reset")
    answer = client.get(f"/account/reset/{token}")
    assert answer.status_code == 403
    assert STAFF_DASHBOARD in answer.get_data(as_text=True)
    posted = submit(
        client,
        "/account/login",
        {"password": "a new staff password"},
        action=f"/account/reset/{token}",
    )
    assert posted.status_code == 403
    assert _account(app, staff).password_hash == before
