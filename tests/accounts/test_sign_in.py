"""Stories about getting into an account: register, confirm, sign in and out, reset, links."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from fundraiser.extensions import db
from fundraiser.models import Supporter, utcnow
from tests.accounts.conftest import (
    PASSWORD,
    csrf_token,
    login,
    logout,
    make_supporter,
    register_and_verify,
    submit,
)


def test_reader_registers_confirms_by_email_signs_in_and_out(client, mailbox, app):
    response = submit(
        client, "/account/register", {"email": "Ada@Example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.location.endswith("/account/check-email/register")
    mail = mailbox.last("ada@example.org")
    assert mail["Subject"] == "Confirm your email address"
    assert mail.get_body(("html",)) is not None and mail.get_body(("plain",)) is not None

    link = mailbox.link("ada@example.org", "/account/verify/")
    assert "Confirm my email address" in client.get(link).get_data(as_text=True)
    confirmed = submit(client, link, follow_redirects=True)
    assert "your email address is confirmed" in confirmed.get_data(as_text=True)
    assert "Your giving" in confirmed.get_data(as_text=True)  # signed in by the link
    logout(client)

    signed_in = login(client, "ada@example.org")
    assert signed_in.status_code == 302 and signed_in.location.endswith("/account")
    page = client.get("/account")
    assert page.status_code == 200 and "Your giving" in page.get_data(as_text=True)
    assert "Please confirm your email" not in page.get_data(as_text=True)

    logout(client)
    assert client.get("/account").status_code == 302


def test_weak_password_and_bad_email_are_explained_on_the_form(client, mailbox):
    response = submit(
        client, "/account/register", {"email": "not-an-email", "password": "password"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "valid email address" in body
    assert "at least 10 characters" in body.lower()
    assert 'aria-describedby="email-hint email-error"' in body
    assert mailbox.messages() == []


def test_common_password_is_refused(client, mailbox):
    response = submit(
        client, "/account/register", {"email": "b@example.org", "password": "password123"}
    )
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)


def test_wrong_password_is_refused_with_a_clear_message(client, app):
    with app.app_context():
        make_supporter("c@example.org")
    response = login(client, "c@example.org", "not the password at all")
    assert response.status_code == 422
    assert "don&#39;t match an account" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_sign_in_renews_the_session(client, app):
    with app.app_context():
        make_supporter("d@example.org")
    client.get("/account/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "d@example.org")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_fresh"] is True


def test_sign_in_goes_back_to_a_local_next_page_only(client, app):
    with app.app_context():
        make_supporter("e@example.org")
    page = client.get("/account/login?next=/account/settings").get_data(as_text=True)
    data = {"email": "e@example.org", "password": PASSWORD, "csrf_token": csrf_token(page)}
    response = client.post("/account/login", data={**data, "next": "/account/settings"})
    assert response.location.endswith("/account/settings")
    logout(client)
    page = client.get("/account/login").get_data(as_text=True)
    data["csrf_token"] = csrf_token(page)
    response = client.post("/account/login", data={**data, "next": "https://evil.example/"})
    assert response.location.endswith("/account")


def test_forms_without_a_csrf_token_are_refused(client, app):
    with app.app_context():
        make_supporter("f@example.org")
    response = client.post("/account/login", data={"email": "f@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302


def test_verification_link_works_once(client, mailbox):
    submit(client, "/account/register", {"email": "g@example.org", "password": PASSWORD})
    link = mailbox.link("g@example.org", "/account/verify/")
    assert submit(client, link).status_code == 302
    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_verification_link_expires_after_two_days(client, mailbox):
    submit(client, "/account/register", {"email": "h@example.org", "password": PASSWORD})
    link = mailbox.link("h@example.org", "/account/verify/")
    with time_machine.travel(utcnow() + timedelta(days=2, minutes=1)):
        response = client.get(link)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_tampered_link_is_refused(client, mailbox):
    submit(client, "/account/register", {"email": "i@example.org", "password": PASSWORD})
    link = mailbox.link("i@example.org", "/account/verify/")
    response = client.get(link[:-3] + ("abc" if not link.endswith("abc") else "xyz"))
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_unverified_supporter_is_asked_to_confirm_before_signing_in(client, mailbox):
    submit(client, "/account/register", {"email": "j@example.org", "password": PASSWORD})
    answer = login(client, "j@example.org")
    assert answer.status_code == 422
    assert "Please confirm your email address first" in answer.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    # A wrong password still gets the usual answer: nothing is revealed without it.
    wrong = login(client, "j@example.org", "not the password at all")
    assert "don&#39;t match an account" in wrong.get_data(as_text=True)


def test_password_reset_by_email(client, app, mailbox):
    with app.app_context():
        make_supporter("l@example.org")
    response = submit(client, "/account/reset", {"email": "l@example.org"})
    assert response.location.endswith("/account/check-email/reset")
    link = mailbox.link("l@example.org", "/account/reset/")
    response = submit(client, link, {"password": "a brand new secret"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    logout(client)
    assert login(client, "l@example.org").status_code == 422
    assert login(client, "l@example.org", "a brand new secret").status_code == 302
    # The link was spent.
    assert client.get(link).status_code == 400


def test_reset_link_expires_after_an_hour(client, app, mailbox):
    with app.app_context():
        make_supporter("m@example.org")
    submit(client, "/account/reset", {"email": "m@example.org"})
    link = mailbox.link("m@example.org", "/account/reset/")
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert "expired" in client.get(link).get_data(as_text=True)


def test_reset_refuses_a_weak_new_password(client, app, mailbox):
    with app.app_context():
        make_supporter("n@example.org")
    submit(client, "/account/reset", {"email": "n@example.org"})
    link = mailbox.link("n@example.org", "/account/reset/")
    response = submit(client, link, {"password": "short"})
    assert response.status_code == 422
    assert "at least 10 characters" in response.get_data(as_text=True).lower()
    assert client.get(link).status_code == 200  # still usable


def test_magic_link_signs_in_once(client, app, mailbox):
    with app.app_context():
        make_supporter("o@example.org", password=None)
    response = submit(client, "/account/sign-in-link", {"email": "o@example.org"})
    assert response.location.endswith("/account/check-email/magic")
    link = mailbox.link("o@example.org", "/account/sign-in/")
    # Opening the link (as a mail scanner would) does not spend it; pressing the button does.
    assert client.get(link).status_code == 200
    response = submit(client, link)
    assert response.status_code == 302 and response.location.endswith("/account")
    assert client.get("/account").status_code == 200
    logout(client)
    reused = client.get(link)
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)


def test_magic_link_expires_after_fifteen_minutes(client, app, mailbox):
    with app.app_context():
        make_supporter("p@example.org", password=None)
    submit(client, "/account/sign-in-link", {"email": "p@example.org"})
    link = mailbox.link("p@example.org", "/account/sign-in/")
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        response = client.get(link)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_magic_link_cannot_be_used_as_a_reset_link(client, app, mailbox):
    with app.app_context():
        make_supporter("q@example.org")
    submit(client, "/account/sign-in-link", {"email": "q@example.org"})
    token = mailbox.link("q@example.org", "/account/sign-in/").rsplit("/", 1)[-1]
    assert client.get(f"/account/reset/{token}").status_code == 400


def test_magic_link_confirms_an_unverified_account(client, app, mailbox):
    submit(client, "/account/register", {"email": "r@example.org", "password": PASSWORD})
    submit(client, "/account/sign-in-link", {"email": "r@example.org"})
    submit(client, mailbox.link("r@example.org", "/account/sign-in/"))
    with app.app_context():
        supporter = db.session.scalar(db.select(Supporter).filter_by(email="r@example.org"))
        assert supporter.is_verified


def test_log_out_everywhere_ends_other_sessions(client, app):
    with app.app_context():
        make_supporter("s@example.org")
    laptop, phone = client, app.test_client()
    login(laptop, "s@example.org")
    login(phone, "s@example.org")
    assert phone.get("/account").status_code == 200
    submit(laptop, "/account/settings", action="/account/logout-everywhere")
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 302


def test_password_change_keeps_this_session_and_ends_the_others(client, app):
    with app.app_context():
        make_supporter("t@example.org")
    phone = app.test_client()
    login(client, "t@example.org")
    login(phone, "t@example.org")
    response = submit(
        client,
        "/account/settings",
        {"current_password": PASSWORD, "password": "another long secret"},
        action="/account/settings/password",
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    logout(client)
    assert login(client, "t@example.org", "another long secret").status_code == 302


def test_password_change_needs_the_current_password(client, app):
    with app.app_context():
        make_supporter("u@example.org")
    login(client, "u@example.org")
    response = submit(
        client,
        "/account/settings",
        {"current_password": "wrong wrong wrong", "password": "another long secret"},
        action="/account/settings/password",
    )
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def test_full_story_helper(client, mailbox):
    response = register_and_verify(client, mailbox, "v@example.org")
    assert response.status_code == 200
    assert login(client, "v@example.org").status_code == 302


def test_confirming_the_email_signs_the_supporter_in(client, mailbox):
    submit(client, "/account/register", {"email": "v@example.org", "password": PASSWORD})
    assert client.get("/account").status_code == 302  # not signed in yet
    link = mailbox.link("v@example.org", "/account/verify/")
    assert client.get(link).status_code == 200  # the page with the button changes nothing
    assert client.get("/account").status_code == 302
    response = submit(client, link)
    assert response.status_code == 302 and response.location.endswith("/account")
    page = client.get("/account")
    assert page.status_code == 200
    assert "your email address is confirmed" in page.get_data(as_text=True)


def test_an_address_we_cannot_write_to_is_refused_and_an_idn_domain_gets_its_mail(
    client, mailbox, app
):
    # Non-ASCII before the @ needs SMTPUTF8, which our mail doesn't use: a form error, no row.
    refused = submit(
        client, "/account/register", {"email": "josé@example.org", "password": PASSWORD}
    )
    assert refused.status_code == 422
    assert "valid email address" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Supporter).filter_by(email="josé@example.org")) is None
    # A non-ASCII domain is fine: the mail goes to its IDNA form.
    accepted = submit(client, "/account/register", {"email": "ana@bücher.de", "password": PASSWORD})
    assert accepted.status_code == 302
    mail = mailbox.last("ana@xn--bcher-kva.de")
    assert mail["Subject"] == "Confirm your email address"
