"""Sign-in sessions: a server-side record per sign-in, checked whenever the user is loaded.

The browser's (signed, but readable and copyable) session cookie carries the supporter's
id, their session version and a random key; the key's hash is a row in `login_sessions`.
Signing out revokes the row, so a copied cookie stops working at once; staff sessions also
end after STAFF_IDLE_MINUTES without a request. A remember-me cookie alone never signs
anyone in: without a live session key in the session cookie the loader refuses it.
Pages that never look at the user (the cacheable landing page) never reach this code.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, session
from flask_login import user_logged_in, user_logged_out
from sqlalchemy import update

from fundraiser.extensions import db, login_manager
from fundraiser.models import LoginSession, Role, Supporter, utcnow

#: Flask session key holding this browser's login-session key.
SESSION_KEY = "login_session"
#: last_seen_at is rewritten at most this often (not a database write per request).
TOUCH_EVERY = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def begin(supporter: Supporter) -> str:
    """Record a new sign-in for the supporter and return the key the browser keeps."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        LoginSession(
            key_hash=_hash(key), supporter_id=supporter.id, created_at=now, last_seen_at=now
        )
    )
    return key


def revoke(key: str | None) -> None:
    """End one login session, in a transaction of its own (sign-out must stick)."""
    if not key:
        return
    with db.engine.begin() as connection:
        connection.execute(
            update(LoginSession)
            .where(LoginSession.key_hash == _hash(key), LoginSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def revoke_all(supporter: Supporter) -> None:
    """End every login session of the supporter (part of the caller's transaction)."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.supporter_id == supporter.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def end_current() -> None:
    """Revoke the login session this browser holds, if any (before its session is cleared)."""
    revoke(session.pop(SESSION_KEY, None))


@user_logged_in.connect
def _record_sign_in(_app, user, **_extra) -> None:
    # Every sign-in path (password, link, staff second factor) goes through login_user.
    key = begin(user)
    # Committed here: the session must exist before the response hands out the cookie.
    # Sign-in views commit their own work before calling login_user.
    db.session.commit()
    session[SESSION_KEY] = key


@user_logged_out.connect
def _record_sign_out(_app, user, **_extra) -> None:
    end_current()


def _is_staff(supporter: Supporter) -> bool:
    try:
        return supporter.has_role(Role.VIEWER)
    except ValueError:  # an unknown role string grants nothing
        return False


def _live_session(supporter_id: int) -> LoginSession | None:
    """This browser's login-session row, if it is live, belongs to the supporter and, for
    staff, has not idled out (then it is revoked). Touches last_seen now and then."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str):
        return None
    # From the primary even on pages that read a replica: a sign-out must count at once.
    record = db.session.scalar(
        db.select(LoginSession).filter_by(key_hash=_hash(key)),
        bind_arguments={"bind": db.engine},
    )
    if record is None or record.revoked_at is not None or record.supporter_id != supporter_id:
        return None
    return record


def _still_fresh(record: LoginSession, supporter: Supporter) -> bool:
    now = utcnow()
    idle = timedelta(minutes=current_app.config.get("STAFF_IDLE_MINUTES", 30))
    if _is_staff(supporter) and now - record.last_seen_at > idle:
        revoke(session.get(SESSION_KEY))
        return False
    if now - record.last_seen_at >= TOUCH_EVERY:
        # Its own short transaction: the request's unit of work stays the view's business.
        with db.engine.begin() as connection:
            connection.execute(
                update(LoginSession).where(LoginSession.id == record.id).values(last_seen_at=now)
            )
    return True


@login_manager.user_loader
def load_supporter(session_id: str) -> Supporter | None:
    """Accept "<id>:<session_version>" only with a live login session and a current version."""
    try:
        supporter_id, version = (int(part) for part in session_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    supporter = db.session.get(Supporter, supporter_id)
    if supporter is None or not supporter.is_active or supporter.deleted_at is not None:
        return None
    if not supporter.is_verified and supporter.role == Role.SUPPORTER.value:
        # Nobody is signed in to an account whose mailbox is unproven. (Staff roles are
        # given by `flask staff create`, which vouches for the address.)
        return None
    if supporter.session_version != version:
        return None
    record = _live_session(supporter_id)
    if record is None or not _still_fresh(record, supporter):
        return None
    return supporter
