"""Account services: register, verify, sign in, reset, sign-in links, profile and sessions."""

from __future__ import annotations

import hashlib
import hmac

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fundraiser.accounts import giving, sessions
from fundraiser.accounts.language import remember, writing_in
from fundraiser.accounts.tokens import (
    LIFETIMES,
    LinkClaims,
    make_link_token,
    read_link_token,
    spend_link_token,
)
from fundraiser.extensions import db
from fundraiser.i18n import current_language
from fundraiser.mail import MAILABLE, external_url, send_mail
from fundraiser.models import Role, Supporter, utcnow
from fundraiser.passwords import hash_password, needs_rehash, password_problem, verify_password


class AccountError(Exception):
    """A request we cannot carry out; the message is shown to the person."""


class StaffIdentityError(AccountError):
    """A change to a staff account asked for where the second factor is not (answered 403)."""


def is_staff_identity(supporter: Supporter) -> bool:
    """Staff accounts (any role but supporter, even one we don't know) are managed in /staff."""
    return supporter.role != Role.SUPPORTER.value


def staff_identity_message() -> str:
    return _(
        "This is a staff account: its password and the account itself are managed in the "
        "staff dashboard, where your second factor is asked for: %(url)s",
        url=staff_account_url(),
    )


def staff_account_url() -> str:
    return external_url("dashboard.account")


def refuse_staff_identity(supporter: Supporter) -> None:
    """Password changes and erasure of staff accounts go through /staff (second factor)."""
    if is_staff_identity(supporter):
        raise StaffIdentityError(staff_identity_message())


def normalize_email(text: str) -> str:
    """A syntactically valid address, lower-cased (our emails are compared lower-cased)."""
    try:
        result = validate_email((text or "").strip(), **MAILABLE)
    except EmailNotValidError as exc:
        raise AccountError(_("Please enter a valid email address, like name@example.org.")) from exc
    return result.normalized.lower()


def supporter_by_email(email: str) -> Supporter | None:
    return db.session.scalar(
        db.select(Supporter).filter_by(email=email, deleted_at=None, is_active=True)
    )


def register(email: str, password: str) -> str:
    """Create an unverified account and send the link; answer identically if the email is taken.

    A taken address gets a "someone tried to register" note instead, so the page the visitor
    sees never tells whether an account exists. Returns the registration proof for this
    browser's session (see `registration_proof`), made the same way in every branch.
    """
    problem = password_problem(password, email)
    if problem:
        raise AccountError(problem)
    password_hash = hash_password(password)  # hashed in both branches: equal time
    existing = db.session.scalar(db.select(Supporter).filter_by(email=email))
    if existing is not None and existing.is_verified:
        with writing_in(existing.language):
            send_mail(
                email,
                _l("Someone tried to create an account with your email"),
                "registered_again",
                sign_in_url=external_url("accounts.login"),
                reset_url=external_url("accounts.reset_request"),
            )
        return registration_proof(email, password_hash)
    if existing is not None:
        # Unverified: the newest registration's password wins and older links stop working,
        # so whoever controls the mailbox ends up with the password they chose last.
        supporter = existing
        supporter.password_hash = password_hash
    else:
        supporter = Supporter(email=email, password_hash=password_hash)
        db.session.add(supporter)
    remember(supporter, current_language())  # the page they registered on
    db.session.flush()
    send_verification(supporter)
    return registration_proof(email, password_hash)


def registration_proof(email: str, password_hash: str | None) -> str:
    """What the registering browser keeps: proof that it chose the account's current password.

    Keyed with the secret and bound to the hash (new salt on every registration), so it
    reveals nothing and stops matching as soon as anyone registers the address again.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = f"registered\x1f{email}\x1f{password_hash or ''}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _chose_the_password(supporter: Supporter, proof: str | None) -> bool:
    if not proof or not supporter.password_hash or not supporter.email:
        return False
    return hmac.compare_digest(proof, registration_proof(supporter.email, supporter.password_hash))


def send_verification(supporter: Supporter) -> None:
    token = make_link_token(supporter, "verify")
    with writing_in(supporter.language):
        _send_verification(supporter, token)


def _send_verification(supporter: Supporter, token: str) -> None:
    send_mail(
        supporter.email,
        _l("Confirm your email address"),
        "verify",
        verify_url=external_url("accounts.verify", token=token),
        hours=int(LIFETIMES["verify"].total_seconds() // 3600),
    )


def check_verification_link(token: str) -> Supporter:
    return read_link_token(token, "verify").supporter


def verify_email(token: str, proof: str | None = None) -> Supporter:
    """Spend a verification link; raises LinkError if it is expired, used or tampered with.

    `proof` is the registering browser's `registration_proof`, if this is that browser.
    """
    claims = spend_link_token(token, "verify")
    mark_verified(claims.supporter, password_proven=_chose_the_password(claims.supporter, proof))
    return claims.supporter


def mark_verified(supporter: Supporter, password_proven: bool) -> None:
    """Record that the mailbox is theirs and bring in gifts made earlier with this email.

    Anyone can register an address with a password of their choosing, so a password set
    before verification survives only when the verifier proved they chose it
    (`password_proven`); otherwise the mailbox owner signs in by link and sets their own.
    Ends every earlier session: whoever might have signed in before the mailbox was proven
    must not see the giving history that now appears.
    """
    if supporter.is_verified:
        return
    if not password_proven:
        supporter.password_hash = None
    supporter.email_verified_at = utcnow()
    supporter.session_version += 1
    giving.link_donations(supporter)


def authenticate(email: str, password: str) -> Supporter | None:
    """The supporter with this email and password, or None; costs the same either way.

    An unconfirmed account cannot sign in with its password (AccountError says so): the
    password may have been chosen by someone who merely typed the address in.
    """
    supporter = supporter_by_email(email)
    password_hash = supporter.password_hash if supporter else None
    if not verify_password(password_hash, password) or supporter is None:
        return None
    if not supporter.is_verified:
        raise AccountError(
            _(
                "Please confirm your email address first: open the link we emailed you, "
                "or email yourself a sign-in link."
            )
        )
    if needs_rehash(supporter.password_hash):
        supporter.password_hash = hash_password(password)
    return supporter


def request_password_reset(email: str) -> None:
    """Email a reset link if there is an account; do nothing visible otherwise."""
    supporter = supporter_by_email(email)
    if supporter is None:
        return
    if is_staff_identity(supporter):
        send_mail(
            supporter.email,
            "About resetting your password",
            "staff_managed",
            staff_url=staff_account_url(),
        )
        return
    token = make_link_token(supporter, "reset")
    with writing_in(supporter.language):
        _send_reset(supporter, token)


def _send_reset(supporter: Supporter, token: str) -> None:
    send_mail(
        supporter.email,
        _l("Reset your password"),
        "reset",
        reset_url=external_url("accounts.reset_password", token=token),
        minutes=int(LIFETIMES["reset"].total_seconds() // 60),
    )


def check_reset_link(token: str) -> Supporter:
    supporter = read_link_token(token, "reset").supporter
    refuse_staff_identity(supporter)
    return supporter


def reset_password(token: str, password: str) -> Supporter:
    """Spend a reset link and set the new password; every other session ends."""
    supporter = check_reset_link(token)
    problem = password_problem(password, supporter.email)
    if problem:
        raise AccountError(problem)
    spend_link_token(token, "reset")
    supporter.password_hash = hash_password(password)
    supporter.session_version += 1
    mark_verified(supporter, password_proven=True)  # the mailbox holder just chose it
    return supporter


def request_sign_in_link(email: str, next_path: str | None = None) -> None:
    """Email a one-time sign-in link if there is an account; do nothing visible otherwise."""
    supporter = supporter_by_email(email)
    if supporter is None:
        return
    send_sign_in_link(supporter, next_path)


def send_sign_in_link(supporter: Supporter, next_path: str | None = None) -> None:
    token = make_link_token(supporter, "magic", next_path)
    with writing_in(supporter.language):
        _send_sign_in_link(supporter, token)


def _send_sign_in_link(supporter: Supporter, token: str) -> None:
    send_mail(
        supporter.email,
        _l("Your sign-in link"),
        "magic",
        sign_in_url=external_url("accounts.magic_sign_in", token=token),
        minutes=int(LIFETIMES["magic"].total_seconds() // 60),
    )


def check_sign_in_link(token: str) -> Supporter:
    return read_link_token(token, "magic").supporter


def use_sign_in_link(token: str, proof: str | None = None) -> LinkClaims:
    """Spend a sign-in link; it also proves the mailbox, so it verifies the account.

    A password set before that survives only in the browser that registered it (`proof`).
    """
    claims = spend_link_token(token, "magic")
    mark_verified(claims.supporter, password_proven=_chose_the_password(claims.supporter, proof))
    return claims


def change_password(supporter: Supporter, current: str, new: str) -> None:
    """Set a new password (the current one is required if there is one); other sessions end."""
    refuse_staff_identity(supporter)
    if supporter.password_hash and not verify_password(supporter.password_hash, current):
        raise AccountError(_("Your current password is not right."))
    problem = password_problem(new, supporter.email)
    if problem:
        raise AccountError(problem)
    supporter.password_hash = hash_password(new)
    supporter.session_version += 1


def log_out_everywhere(supporter: Supporter) -> None:
    """Invalidate every session of this supporter, on every device."""
    supporter.session_version += 1
    sessions.revoke_all(supporter)


def update_profile(supporter: Supporter, name: str, show_publicly: bool) -> None:
    supporter.name = name.strip()[:200]
    supporter.show_publicly = bool(show_publicly)


def resend_verification(supporter: Supporter) -> None:
    if supporter.is_verified:
        return
    send_verification(supporter)


def reauthentication_window_seconds() -> int:
    """How recent a sign-in must be to delete the account without a password."""
    return int(current_app.config.get("ACCOUNT_FRESH_SIGN_IN_SECONDS", 15 * 60))
