"""Rate limits for the account forms: per client address, and per email address typed in."""

from __future__ import annotations

import hashlib

from flask import request
from flask_limiter.util import get_remote_address

#: Per client address, on POST only (showing a form is never limited).
PER_ADDRESS = "5 per minute;30 per hour"
#: Per email typed in: stops guessing one account's password from many addresses.
LOGIN_PER_EMAIL = "10 per hour"
#: Per email typed in: stops anyone filling one person's inbox with our mail.
MAIL_PER_EMAIL = "3 per 15 minutes;10 per day"


def email_key() -> str:
    """The email in the posted form, hashed (so addresses never sit in Redis in clear)."""
    email = (request.form.get("email") or "").strip().lower()
    if not email:
        return f"address:{get_remote_address()}"
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]
