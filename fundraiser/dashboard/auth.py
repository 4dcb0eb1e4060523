"""Staff sign-in: password check, TOTP enrolment and verification, single-use recovery codes."""

from __future__ import annotations

import base64
import hmac
import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from fundraiser.dashboard import audit
from fundraiser.dashboard.access import is_staff
from fundraiser.extensions import db
from fundraiser.models import Supporter
from fundraiser.passwords import verify_password

ISSUER = "Socialist World staff"
RECOVERY_CODE_COUNT = 10
# Recovery codes: 10 characters from an alphabet without look-alikes, shown as xxxxx-xxxxx.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# Recovery codes are random (about 49 bits), not chosen by people, so argon2id at OWASP's
# minimum cost is enough; with the password cost, checking ten codes would take seconds.
_recovery_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def staff_by_email(email: str) -> Supporter | None:
    return db.session.scalar(
        select(Supporter).where(func.lower(Supporter.email) == normalise_email(email))
    )


def check_staff_password(email: str, password: str) -> Supporter | None:
    """The active staff account with this email and password, or None (same cost either way)."""
    account = staff_by_email(email)
    ok = verify_password(account.password_hash if account else None, password)
    if not ok or account is None or not is_staff(account):
        audit.record("anonymous", "staff.login_failed", normalise_email(email)[:255])
        return None
    return account


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code: an SVG in a base64 data URI (allowed by our CSP's img-src)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, dark="#1d1b19")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def totp_step(secret: str, code: str) -> int | None:
    """The time step a six-digit code belongs to (one step of clock drift allowed), or None."""
    digits = "".join((code or "").split())
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(datetime.now(UTC))
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def totp_matches(secret: str, code: str) -> bool:
    return totp_step(secret, code) is not None


def accept_totp(account: Supporter, code: str) -> bool:
    """A right code not used before: each code signs in once, even within its 30 seconds.

    The step is claimed by a conditional UPDATE, not read-then-write: of several sign-ins
    sending the same code at once, the database lets exactly one move the step forward (on
    PostgreSQL the others wait for its row lock, then find the condition false).
    """
    step = totp_step(account.totp_secret or "", code)
    if step is None or step <= (account.totp_last_step or 0):
        return False
    claimed = db.session.execute(
        update(Supporter)
        .where(Supporter.id == account.id, Supporter.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    set_committed_value(account, "totp_last_step", step)
    return True


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_data_uri: str


def start_enrolment(account: Supporter, secret: str | None = None) -> Enrolment:
    secret = secret or new_totp_secret()
    uri = provisioning_uri(secret, account.email or f"staff-{account.id}")
    return Enrolment(secret, uri, qr_code_data_uri(uri))


def finish_enrolment(account: Supporter, secret: str, code: str) -> list[str] | None:
    """Store the secret once a code from it is right; returns fresh recovery codes (shown once)."""
    if account.totp_secret or not totp_matches(secret, code):
        return None
    account.totp_secret = secret
    account.totp_last_step = totp_step(secret, code) or 0
    codes = replace_recovery_codes(account)
    audit.record(audit.staff_actor(account), "staff.totp_enrolled", f"supporter:{account.id}")
    return codes


def replace_recovery_codes(account: Supporter) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    account.totp_recovery_hashes = json.dumps([_recovery_hasher.hash(code) for code in codes])
    return codes


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _normalise_recovery_code(code: str) -> str:
    cleaned = "".join(c for c in (code or "").lower() if c.isalnum())
    return f"{cleaned[:5]}-{cleaned[5:]}" if len(cleaned) == 10 else ""


#: Tries at striking a code off when other codes of the account are used at the same time.
_RECOVERY_CAS_TRIES = 3


def use_recovery_code(account: Supporter, code: str) -> bool:
    """Accept an unused recovery code once, striking it off the list.

    The list is read fresh and written back only if it is still the list that was read
    (compare-and-swap), so one code sent from several sign-ins at once is accepted once.
    """
    candidate = _normalise_recovery_code(code)
    if not candidate:
        return False
    for _ in range(_RECOVERY_CAS_TRIES):
        listed = db.session.scalar(
            select(Supporter.totp_recovery_hashes).where(Supporter.id == account.id)
        )
        hashes = _recovery_hashes(listed)
        match = next((h for h in hashes if _recovery_code_matches(h, candidate)), None)
        if match is None:
            return False
        remaining = json.dumps([h for h in hashes if h != match])
        swapped = db.session.execute(
            update(Supporter)
            .where(Supporter.id == account.id, Supporter.totp_recovery_hashes == listed)
            .values(totp_recovery_hashes=remaining)
            .execution_options(synchronize_session=False)
        )
        if swapped.rowcount == 1:
            set_committed_value(account, "totp_recovery_hashes", remaining)
            return True
    return False


def _recovery_hashes(listed: str | None) -> list[str]:
    try:
        hashes = json.loads(listed or "[]")
    except ValueError:
        return []
    return [h for h in hashes if isinstance(h, str)] if isinstance(hashes, list) else []


def _recovery_code_matches(stored: str, candidate: str) -> bool:
    try:
        return _recovery_hasher.verify(stored, candidate)
    except (VerificationError, InvalidHashError):
        return False


def recovery_codes_left(account: Supporter) -> int:
    return len(_recovery_hashes(account.totp_recovery_hashes))


def check_second_factor(account: Supporter, code: str) -> str | None:
    """ "totp" or "recovery" when the code is right, else None; every attempt is audited."""
    actor = audit.staff_actor(account)
    if account.totp_secret and accept_totp(account, code):
        method = "totp"
    elif use_recovery_code(account, code):
        method = "recovery"
    else:
        audit.record(actor, "staff.second_factor_failed", f"supporter:{account.id}")
        return None
    audit.record(actor, "staff.login", f"supporter:{account.id}", method=method)
    return method
