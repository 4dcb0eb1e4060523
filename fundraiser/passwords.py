"""Password hashing (argon2id) and the weak-password check shared by supporters and staff."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from flask_babel import ngettext

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

MIN_PASSWORD_LENGTH = 10
# The most common passwords in breach lists, plus this site's obvious choices.
COMMON_PASSWORDS = frozenset(
    """123456 123456789 12345678 password qwerty123 qwerty 1234567890 111111 1234567 123123
    password1 password123 abc123 iloveyou 000000 qwertyuiop 123321 dragon sunshine princess
    letmein monkey football baseball welcome welcome1 admin admin123 passw0rd master trustno1
    1q2w3e4r 1qaz2wsx zaq12wsx superman batman starwars whatever charlie donald michael
    shadow socialism socialist solidarity revolution workers1 donate123 fundraiser
    changeme changeme123 secret123 login123 hello123 qwerty12345 asdfghjkl 1234512345
    aaaaaaaaaa 0123456789 9876543210 password12 password1234 p@ssw0rd p@ssword""".split()
)


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why this password is not acceptable, or None if it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return ngettext(
            "Use at least %(num)d character.",
            "Use at least %(num)d characters.",
            MIN_PASSWORD_LENGTH,
        )
    if len(password) > 1024:
        return _("That password is too long.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return _("That password is too common; choose something harder to guess.")
    if email and lowered == email.lower():
        return _("Your password can't be your email address.")
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check; False for a missing or malformed hash."""
    if not password_hash:
        # Hash anyway so a missing account costs the same time as a wrong password.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
