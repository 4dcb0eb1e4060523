"""Stories about privacy: nobody sees another's things, nobody learns who has an account,
supporters take their data with them or erase it, and choose whether their name is shown."""

from __future__ import annotations

import json
import re

import pytest

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, LedgerEntry, Supporter
from tests.accounts.conftest import (
    PASSWORD,
    add_pledge,
    csrf_token,
    login,
    make_supporter,
    submit,
    without_csrf,
)
from tests.factories import add_payment

# --- Another supporter's things ----------------------------------------------------------

OBJECT_ROUTES = [
    ("GET", "/account/receipts/{entry}"),
    ("GET", "/account/pledges/{pledge}"),
    ("GET", "/account/pledges/{pledge}/card"),
    ("POST", "/account/pledges/{pledge}/card"),
    ("POST", "/account/pledges/{pledge}/amount"),
    ("POST", "/account/pledges/{pledge}/interval"),
    ("POST", "/account/pledges/{pledge}/pause"),
    ("POST", "/account/pledges/{pledge}/resume"),
    ("POST", "/account/pledges/{pledge}/cancel"),
    ("GET", "/account/statements/{year}"),
    ("GET", "/account/statements/{year}.pdf"),
]


@pytest.fixture
def first_supporters_things(app, campaign):
    """Mallory is signed in; Alice has a payment and a pledge."""
    with app.app_context():
        make_supporter("alice@example.org")
        make_supporter("mallory@example.org")
        entry = add_payment(campaign, 2500, email="alice@example.org")
        paused = add_pledge(campaign, "alice@example.org", status="paused")
        return {"entry": entry.id, "pledge": paused.id, "year": entry.occurred_at.year}


@pytest.mark.parametrize(("method", "route"), OBJECT_ROUTES)
def test_another_supporter_gets_404_for_every_object(
    client, app, first_supporters_things, method, route
):
    login(client, "mallory@example.org")
    path = route.format(**first_supporters_things)
    if method == "GET":
        response = client.get(path)
    else:
        token = csrf_token(client.get("/account").get_data(as_text=True))
        data = {"csrf_token": token, "amount": "5", "interval": "year", "months": "1"}
        response = client.post(path, data=data)
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 0


@pytest.mark.parametrize("route", [route for method, route in OBJECT_ROUTES if method == "GET"])
def test_the_owner_reaches_every_page(client, first_supporters_things, route):
    """The other side of the IDOR test: the same pages answer Alice, so 404 meant refused."""
    login(client, "alice@example.org")
    assert client.get(route.format(**first_supporters_things)).status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(client, first_supporters_things):
    for method, route in OBJECT_ROUTES:
        if method == "GET":
            response = client.get(route.format(**first_supporters_things))
            assert response.status_code == 302
            assert "/account/login" in response.location


def test_unverified_holder_of_an_email_sees_none_of_its_gifts(client, app, campaign):
    with app.app_context():
        entry = add_payment(campaign, 2500, email="victim@example.org")
        pledge = add_pledge(campaign, "victim@example.org")
        make_supporter("victim@example.org", verified=False)
        entry_id, pledge_id = entry.id, pledge.id
    assert login(client, "victim@example.org").status_code == 422  # cannot sign in at all
    assert client.get(f"/account/receipts/{entry_id}").status_code == 302
    assert client.get(f"/account/pledges/{pledge_id}").status_code == 302
    assert client.get("/account/data.json").status_code == 302
    # Even a session cookie for the account (made before it could be refused) opens nothing.
    with app.app_context():
        supporter_id = db.session.scalar(
            db.select(Supporter.id).filter_by(email="victim@example.org")
        )
    with client.session_transaction() as session:
        session["_user_id"] = f"{supporter_id}:1"
    assert client.get("/account/data.json").status_code == 302


# --- Who has an account ------------------------------------------------------------------


def _same(first, second) -> None:
    """Same status, redirect and page, apart from the CSRF token and the address typed in."""
    assert first.status_code == second.status_code
    assert first.headers.get("Location") == second.headers.get("Location")

    def page(response) -> str:
        body = without_csrf(response.get_data(as_text=True))
        return re.sub(r"\b(un)?known@example\.org", "EMAIL", body)

    assert page(first) == page(second)


@pytest.fixture
def known(app):
    with app.app_context():
        make_supporter("known@example.org")


def test_login_answers_the_same_for_known_and_unknown_emails(app, known):
    answers = [
        login(app.test_client(), email, "wrong password here")
        for email in ("known@example.org", "unknown@example.org")
    ]
    _same(*answers)


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("/account/register", {"password": PASSWORD}),
        ("/account/reset", {}),
        ("/account/sign-in-link", {}),
    ],
)
def test_email_forms_answer_the_same_for_known_and_unknown_emails(app, known, page, data):
    answers, pages = [], []
    for email in ("known@example.org", "unknown@example.org"):
        client = app.test_client()
        answer = submit(client, page, {"email": email, **data})
        answers.append(answer)
        pages.append(client.get(answer.location))
    _same(*answers)
    _same(*pages)


# --- Taking data away, erasing it, being named -------------------------------------------


def test_supporter_downloads_all_their_data(client, app, campaign):
    with app.app_context():
        make_supporter("dl@example.org", name="Dee Ell")
        add_payment(campaign, 2500, email="dl@example.org")
        add_pledge(campaign, "dl@example.org", amount_minor=1000)
    login(client, "dl@example.org")
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["profile"]["email"] == "dl@example.org"
    assert data["profile"]["name"] == "Dee Ell"
    assert [d["amount_minor"] for d in data["donations"]] == [2500]
    assert [p["amount_minor"] for p in data["pledges"]] == [1000]
    assert "password" not in json.dumps(data["profile"]).replace("has_password", "")


def test_supporter_deletes_their_account_with_their_password(client, app, campaign):
    with app.app_context():
        make_supporter("bye@example.org", name="Bea Gone")
        entry = add_payment(campaign, 2500, email="bye@example.org")
        entry.donor_name = "Bea Gone"
        db.session.commit()
        entry_id = entry.id
    login(client, "bye@example.org")
    response = submit(client, "/account/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302
    assert login(client, "bye@example.org").status_code == 422
    with app.app_context():
        entry = db.session.get(LedgerEntry, entry_id)
        assert entry.amount_minor == 2500 and entry.stripe_ref.startswith("pi_")
        assert entry.donor_email is None and entry.donor_name == ""
        supporter = db.session.get(Supporter, entry.supporter_id)
        assert supporter.email is None and supporter.password_hash is None
        assert supporter.name == "" and supporter.deleted_at is not None


def test_deleting_needs_the_right_password_and_the_tick(client, app):
    with app.app_context():
        make_supporter("stay@example.org")
    login(client, "stay@example.org")
    wrong = submit(client, "/account/delete", {"password": "not my password", "confirm": "y"})
    assert wrong.status_code == 422 and "password is not right" in wrong.get_data(as_text=True)
    unticked = submit(client, "/account/delete", {"password": PASSWORD})
    assert unticked.status_code == 422 and "tick the box" in unticked.get_data(as_text=True)
    assert client.get("/account").status_code == 200


def test_passwordless_supporter_confirms_deletion_with_a_fresh_sign_in_link(client, app, mailbox):
    with app.app_context():
        make_supporter("nopw@example.org", password=None)
    submit(client, "/account/sign-in-link", {"email": "nopw@example.org"})
    submit(client, mailbox.link("nopw@example.org", "/account/sign-in/"))
    page = client.get("/account/delete").get_data(as_text=True)
    assert "signed in with an emailed link a moment ago" in page
    response = submit(client, "/account/delete", {"confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(Supporter).filter_by(email="nopw@example.org")) is None


def test_delete_page_offers_a_link_when_the_sign_in_is_not_fresh(client, app, mailbox):
    with app.app_context():
        make_supporter("old@example.org")
    login(client, "old@example.org")
    response = submit(client, "/account/delete", action="/account/delete/link")
    assert response.location.endswith("/account/check-email/delete")
    link = mailbox.link("old@example.org", "/account/sign-in/")
    response = submit(client, link)
    assert response.location.endswith("/account/delete")


def test_supporter_chooses_whether_their_name_is_public(client, app):
    with app.app_context():
        supporter_id = make_supporter("pub@example.org").id
    login(client, "pub@example.org")
    submit(
        client,
        "/account/settings",
        {"name": "Pat Public", "show_publicly": "y"},
        action="/account/settings/profile",
    )
    with app.app_context():
        supporter = db.session.get(Supporter, supporter_id)
        assert supporter.name == "Pat Public" and supporter.show_publicly is True
    submit(client, "/account/settings", {"name": "Pat Public"}, action="/account/settings/profile")
    with app.app_context():
        assert db.session.get(Supporter, supporter_id).show_publicly is False
    page = client.get("/account/settings").get_data(as_text=True)
    assert re.search(r'id="show_publicly"[^>]*>', page)
