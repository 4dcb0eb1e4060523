"""Staff sign in with a password and a TOTP code; the first sign-in enrols the authenticator."""

from __future__ import annotations

import base64
import json
import re
from html import unescape

import pyotp
from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Supporter
from tests.dashboard.conftest import csrf_token, enter_password, post_form, sign_in
from tests.dashboard.factories import STAFF_PASSWORD


def _account(app, staff_id: int) -> Supporter:
    with app.app_context():
        account = db.session.get(Supporter, staff_id)
        db.session.expunge(account)
        return account


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _enrol(client, staff) -> tuple[str, list[str], str]:
    """Password, then scan the QR code (read the secret), confirm a code; returns what was shown."""
    response = enter_password(client, staff)
    assert response.headers["Location"] == "/staff/login/enrol"
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    secret = re.search(r"<code class=\"secret\" data-secret>([A-Z2-7]+)</code>", page).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    confirm = client.post(
        "/staff/login/enrol", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()}
    )
    assert confirm.status_code == 200
    shown = confirm.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", shown)
    return secret, codes, page


def test_first_sign_in_enrols_totp_with_a_qr_code_and_ten_recovery_codes(app, staff_of):
    staff = staff_of("staff", enrolled=False)
    client = app.test_client()
    secret, codes, page = _enrol(client, staff)
    # The QR code is an inline SVG image (our CSP allows data: images) of the otpauth URI.
    image = re.search(r'<img class="qr" src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(image).lstrip().startswith((b"<?xml", b"<svg"))
    assert "<script" not in page and "style=" not in page
    assert len(codes) == 10 and len(set(codes)) == 10
    account = _account(app, staff.id)
    assert account.totp_secret == secret
    stored = json.loads(account.totp_recovery_hashes)
    assert len(stored) == 10 and all(h.startswith("$argon2id$") for h in stored)
    assert not any(code in account.totp_recovery_hashes for code in codes)
    assert client.get("/staff/").status_code == 200
    assert "staff.totp_enrolled" in _actions(app)


def test_a_wrong_code_at_enrolment_is_refused_and_nothing_is_stored(app, staff_of):
    staff = staff_of("viewer", enrolled=False)
    client = app.test_client()
    enter_password(client, staff)
    response = post_form(client, "/staff/login/enrol", {"code": "000000"}, "/staff/login/enrol")
    assert response.status_code == 400
    assert "That code doesn't match" in unescape(response.get_data(as_text=True))
    assert _account(app, staff.id).totp_secret is None
    assert client.get("/staff/").status_code == 302


def test_enrolled_staff_sign_in_with_a_current_totp_code(app, staff_of):
    staff = staff_of("viewer")
    client = app.test_client()
    response = sign_in(client, staff)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert "Overview" in client.get("/staff/").get_data(as_text=True)
    assert "staff.login" in _actions(app)


def test_password_alone_does_not_open_the_dashboard(app, staff_of):
    staff = staff_of("admin")
    client = app.test_client()
    enter_password(client, staff)
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_a_wrong_totp_code_is_refused_and_audited(app, staff_of):
    staff = staff_of("admin")
    client = app.test_client()
    response = sign_in(client, staff, code="123456" if staff.code() != "123456" else "654321")
    assert response.status_code == 400
    assert "That code isn't right" in unescape(response.get_data(as_text=True))
    assert client.get("/staff/").status_code == 302
    assert "staff.second_factor_failed" in _actions(app)


def test_wrong_password_and_non_staff_accounts_get_the_same_answer(app, staff_of):
    staff = staff_of("admin")
    supporter = staff_of("supporter")
    for email, password in ((staff.email, "not the password"), (supporter.email, STAFF_PASSWORD)):
        client = app.test_client()
        response = post_form(
            client, "/staff/login", {"email": email, "password": password}, "/staff/login"
        )
        assert response.status_code == 400
        assert "Wrong email or password, or no staff access." in response.get_data(as_text=True)
    assert _actions(app).count("staff.login_failed") == 2


def test_a_recovery_code_works_once(app, staff_of):
    staff = staff_of("staff", enrolled=False)
    _, codes, _ = _enrol(app.test_client(), staff)
    first = app.test_client()
    response = sign_in(first, staff, code=codes[3].upper().replace("-", " "))
    assert response.status_code == 302
    assert first.get("/staff/").status_code == 200
    again = app.test_client()
    assert sign_in(again, staff, code=codes[3]).status_code == 400
    assert again.get("/staff/").status_code == 302
    assert len(json.loads(_account(app, staff.id).totp_recovery_hashes)) == 9


def test_too_many_wrong_codes_send_you_back_to_the_password(app, staff_of):
    staff = staff_of("viewer")
    client = app.test_client()
    enter_password(client, staff)
    token = csrf_token(client, "/staff/login/code")
    for _ in range(5):
        response = client.post("/staff/login/code", data={"csrf_token": token, "code": "abc"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert client.get("/staff/login/code").status_code == 302


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(app, staff_of):
    staff = staff_of("viewer")
    client = app.test_client()
    first = client.get("/staff/donations?status=refunded")
    assert first.headers["Location"] == "/staff/login?next=/staff/donations?status%3Drefunded"
    token = csrf_token(client, first.headers["Location"])
    client.post(
        first.headers["Location"],
        data={"csrf_token": token, "email": staff.email, "password": staff.password},
    )
    response = post_form(client, "/staff/login/code", {"code": staff.code()}, "/staff/login/code")
    assert response.headers["Location"] == "/staff/donations?status=refunded"
    other, colleague = app.test_client(), staff_of("viewer")  # a code signs in only once
    token = csrf_token(other, "/staff/login")
    other.post(
        "/staff/login?next=https://evil.example/",
        data={"csrf_token": token, "email": colleague.email, "password": colleague.password},
    )
    response = post_form(
        other, "/staff/login/code", {"code": colleague.code()}, "/staff/login/code"
    )
    assert response.headers["Location"] == "/staff/"


def test_a_totp_code_signs_in_only_once(app, staff_of):
    staff = staff_of("viewer")
    code = staff.code()
    assert sign_in(app.test_client(), staff, code=code).status_code == 302
    replayed = sign_in(app.test_client(), staff, code=code)
    assert replayed.status_code == 400


def test_signing_out_ends_the_staff_session(app, staff_of):
    staff = staff_of("viewer")
    client = app.test_client()
    sign_in(client, staff)
    response = post_form(client, "/staff/logout", {}, token_from="/staff/")
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302


def test_staff_can_replace_their_recovery_codes(app, staff_of):
    staff = staff_of("viewer")
    client = app.test_client()
    sign_in(client, staff)
    response = post_form(client, "/staff/account/recovery-codes", {}, token_from="/staff/account")
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", response.get_data(True))
    assert len(codes) == 10
    assert "staff.recovery_codes_replaced" in _actions(app)


class TestCommandLine:
    def test_create_reads_the_password_from_a_file_never_an_argument(self, app, runner, tmp_path):
        secret_file = tmp_path / "password"
        secret_file.write_text("a long and unusual passphrase\n")
        result = runner.invoke(
            args=["staff", "create", "Boss@Example.org", "--role", "admin", "--password-file",
                  str(secret_file)]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "Created admin boss@example.org" in result.output
        listing = runner.invoke(args=["staff", "list"])
        assert "boss@example.org\tadmin\tactive\t2fa-not-enrolled" in listing.output
        with app.app_context():
            account = db.session.scalar(
                select(Supporter).where(Supporter.email == "boss@example.org")
            )
            assert account.role == "admin" and account.password_hash.startswith("$argon2id$")
            assert db.session.scalar(select(AuditEntry.action)) == "staff.created"

    def test_create_prompts_for_the_password_hidden_and_twice(self, app, runner):
        result = runner.invoke(
            args=["staff", "create", "viewer@example.org"],
            input="another long passphrase\nanother long passphrase\n",
        )
        assert result.exit_code == 0, result.output
        assert "another long passphrase" not in result.output

    def test_a_weak_password_or_bad_email_is_refused_with_a_reason(self, runner, tmp_path):
        weak = tmp_path / "weak"
        weak.write_text("password")
        result = runner.invoke(
            args=["staff", "create", "a@example.org", "--password-file", str(weak)]
        )
        assert result.exit_code != 0 and "at least 10 characters" in result.output
        result = runner.invoke(
            args=["staff", "create", "not-an-email", "--password-file", str(weak)]
        )
        assert result.exit_code != 0 and "not an email address" in result.output

    def test_disable_ends_every_session_of_that_account(self, app, runner, staff_of):
        staff = staff_of("admin")
        staff_of("admin")  # the last active admin can't be disabled
        client = app.test_client()
        sign_in(client, staff)
        assert client.get("/staff/").status_code == 200
        result = runner.invoke(args=["staff", "disable", staff.email])
        assert result.exit_code == 0 and "Disabled" in result.output
        assert client.get("/staff/").status_code == 302
        assert "disabled" in runner.invoke(args=["staff", "list"]).output
        assert runner.invoke(args=["staff", "disable", "nobody@example.org"]).exit_code != 0
