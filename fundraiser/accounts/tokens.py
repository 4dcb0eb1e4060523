"""Signed, expiring, single-use links for email verification, password reset and sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from fundraiser.database import dialect_insert
from fundraiser.extensions import db
from fundraiser.models import Supporter, UsedToken, utcnow

#: How long each kind of link works.
LIFETIMES = {
    "verify": timedelta(days=2),
    "reset": timedelta(hours=1),
    "magic": timedelta(minutes=15),
}


class LinkError(Exception):
    """A link that cannot be used; the message is shown to the person who clicked it."""


@dataclass(frozen=True)
class LinkClaims:
    supporter: Supporter
    token_id: str
    next_path: str | None


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # A salt per purpose: a sign-in link can never be replayed as a reset link.
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"fundraiser.accounts.{purpose}"
    )


def _fingerprint(supporter: Supporter, purpose: str) -> str:
    """What the link is bound to; when any part changes, outstanding links stop working.

    Keyed with the secret so the link (which anyone can base64-decode) reveals nothing.
    """
    parts = [purpose, supporter.email or ""]
    if purpose == "verify":
        parts += [supporter.password_hash or "", str(supporter.email_verified_at)]
    if purpose == "reset":
        parts += [supporter.password_hash or "", str(supporter.session_version)]
    if purpose == "magic":
        parts += [str(supporter.session_version)]
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]


def make_link_token(supporter: Supporter, purpose: str, next_path: str | None = None) -> str:
    payload = {
        "s": supporter.id,
        "f": _fingerprint(supporter, purpose),
        "j": secrets.token_urlsafe(16),
    }
    if next_path:
        payload["n"] = next_path
    return _serializer(purpose).dumps(payload)


def read_link_token(token: str, purpose: str) -> LinkClaims:
    """Check signature, age, binding and that it is unspent, without spending it."""
    max_age = int(LIFETIMES[purpose].total_seconds())
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkError(_("This link has expired. Please ask for a new one.")) from exc
    except BadSignature as exc:
        raise LinkError(_("This link is not valid. Please ask for a new one.")) from exc
    supporter = _supporter_for(payload)
    expected = _fingerprint(supporter, purpose) if supporter else ""
    if supporter is None or not hmac.compare_digest(str(payload.get("f", "")), expected):
        raise LinkError(_("This link has already been used or is no longer valid."))
    token_id = str(payload.get("j", ""))
    if db.session.scalar(db.select(UsedToken.id).filter_by(token_hash=_hash(token_id))):
        raise LinkError(_("This link has already been used or is no longer valid."))
    return LinkClaims(supporter, token_id, payload.get("n"))


def spend_link_token(token: str, purpose: str) -> LinkClaims:
    """Check the link and mark it used, atomically: of two simultaneous uses only one wins."""
    claims = read_link_token(token, purpose)
    # RETURNING tells whether this statement inserted the row (rowcount is -1 on psycopg).
    statement = (
        dialect_insert(UsedToken)
        .values(
            token_hash=_hash(claims.token_id),
            purpose=purpose,
            supporter_id=claims.supporter.id,
            used_at=utcnow(),
            expires_at=utcnow() + LIFETIMES[purpose],
        )
        .on_conflict_do_nothing(index_elements=["token_hash"])
        .returning(UsedToken.id)
    )
    if db.session.execute(statement).scalar() is None:
        raise LinkError(_("This link has already been used or is no longer valid."))
    return claims


def _supporter_for(payload) -> Supporter | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    supporter = db.session.get(Supporter, payload["s"])
    if supporter is None or supporter.deleted_at is not None or not supporter.is_active:
        return None
    return supporter


def _hash(token_id: str) -> str:
    return hashlib.sha256(token_id.encode()).hexdigest()
