"""Rate limits for the account forms: per client address, and per email address typed in."""

from __future__ import annotations

import hashlib
import logging

from flask import current_app, request
from flask_limiter.util import get_remote_address
from limits import parse

from fundraiser.extensions import limiter

log = logging.getLogger(__name__)

#: Per client address, on POST only (showing a form is never limited).
PER_ADDRESS = "5 per minute;30 per hour"
#: Wrong passwords per email typed in (from any address) before password sign-in pauses
#: for that account. Only failures count, and the emailed sign-in link is never paused,
#: so a stranger typing someone's email cannot lock the owner out.
FAILED_PASSWORDS = "5 per 15 minutes"
#: Per email typed in: stops anyone filling one person's inbox with our mail.
MAIL_PER_EMAIL = "3 per 15 minutes;10 per day"


def email_key() -> str:
    """The email in the posted form, hashed (so addresses never sit in Redis in clear)."""
    email = (request.form.get("email") or "").strip().lower()
    if not email:
        return f"address:{get_remote_address()}"
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _hashed(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]


def _failed_password_limit():
    return parse(FAILED_PASSWORDS)


def password_sign_in_paused(email: str) -> bool:
    """Whether this account has had too many wrong passwords lately (in the limiter's
    storage: Redis when configured, so every worker counts together)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return False
    try:
        return not limiter.limiter.test(_failed_password_limit(), "failed-password", _hashed(email))
    except Exception:  # noqa: BLE001 - storage trouble must not stop sign-in
        log.warning("failed-password counter unavailable", exc_info=True)
        return False


def count_failed_password(email: str) -> None:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    try:
        limiter.limiter.hit(_failed_password_limit(), "failed-password", _hashed(email))
    except Exception:  # noqa: BLE001
        log.warning("failed-password counter unavailable", exc_info=True)
