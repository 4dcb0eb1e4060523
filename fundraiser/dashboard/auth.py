"""Staff sign-in: password check, TOTP enrolment and verification, single-use recovery codes."""

from __future__ import annotations

import base64
import hashlib
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

from fundraiser.dashboard import audit, lockout
from fundraiser.dashboard.access import is_staff
from fundraiser.extensions import db
from fundraiser.models import Supporter
from fundraiser.passwords import hash_password, password_problem, verify_password

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
    """The active staff account with this email and password, or None (same cost either way).

    Raises lockout.SignInLocked while the staff account has had too many failures; a wrong
    password for a staff account counts towards that, wherever it comes from.
    """
    account = staff_by_email(email)
    staff = account if account is not None and is_staff(account) else None
    if staff is not None:
        lockout.check_not_locked(staff)
    ok = verify_password(account.password_hash if account else None, password)
    if not ok or staff is None:
        audit.record("anonymous", "staff.login_failed", normalise_email(email)[:255])
        if staff is not None:
            lockout.record_failure(staff, "password")
        return None
    return staff


class PasswordChangeRefused(Exception):
    """The staff member's own password change was refused; the message says why, `field`
    names the form field it is about."""

    def __init__(self, message: str, field: str = "current_password") -> None:
        super().__init__(message)
        self.field = field


def change_own_password(account: Supporter, current: str, new: str) -> None:
    """Set a new password after the current one is re-entered; signs out every other session.

    A wrong current password counts as a failed sign-in (a borrowed session must not become
    a way to guess the password), and nothing is checked while the account is locked.
    """
    try:
        lockout.check_not_locked(account)
    except lockout.SignInLocked as locked:
        raise PasswordChangeRefused(locked.message) from None
    actor, target = audit.staff_actor(account), f"supporter:{account.id}"
    if not verify_password(account.password_hash, current):
        audit.record(actor, "staff.password_change_failed", target)
        lockout.record_failure(account, "password")
        raise PasswordChangeRefused("Your current password isn't right.")
    problem = password_problem(new, account.email)
    if problem:
        raise PasswordChangeRefused(problem, "password")
    account.password_hash = hash_password(new)
    account.session_version += 1
    audit.record(actor, "staff.password_changed", target)


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


def secret_fingerprint(secret: str) -> str:
    """What the session keeps of the secret it was shown: enough to tell whether a newer
    sign-in replaced it, nothing that helps to rebuild it."""
    return hashlib.sha256(f"totp-enrolment:{secret}".encode()).hexdigest()[:32]


def begin_enrolment(account: Supporter) -> str:
    """A fresh secret for this sign-in, kept on the account (not in the cookie); returns its
    fingerprint for the session. A later sign-in replaces it, ending this one's enrolment."""
    secret = new_totp_secret()
    account.pending_totp_secret = secret
    return secret_fingerprint(secret)


def pending_enrolment(account: Supporter, fingerprint: str | None) -> Enrolment | None:
    """The enrolment this sign-in began, or None if none was begun or a newer one replaced it."""
    secret = account.pending_totp_secret
    if not secret or not isinstance(fingerprint, str):
        return None
    if not hmac.compare_digest(secret_fingerprint(secret), fingerprint):
        return None
    uri = provisioning_uri(secret, account.email or f"staff-{account.id}")
    return Enrolment(secret, uri, qr_code_data_uri(uri))


def finish_enrolment(account: Supporter, enrolment: Enrolment, code: str) -> list[str] | None:
    """Store the secret once a code from it is right; returns fresh recovery codes (shown once).

    One conditional UPDATE moves the pending secret into place, so of two sign-ins racing to
    enrol, and of a sign-in whose secret a newer one replaced, at most one succeeds.
    """
    secret = enrolment.secret
    step = totp_step(secret, code)
    if account.totp_secret or step is None:
        return None
    moved = db.session.execute(
        update(Supporter)
        .where(
            Supporter.id == account.id,
            Supporter.totp_secret.is_(None),
            Supporter.pending_totp_secret == secret,
        )
        .values(totp_secret=secret, pending_totp_secret=None, totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        return None
    for name, value in (("totp_secret", secret), ("pending_totp_secret", None)):
        set_committed_value(account, name, value)
    set_committed_value(account, "totp_last_step", step)
    codes = replace_recovery_codes(account)
    lockout.clear(account)
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
    """ "totp" or "recovery" when the code is right, else None; every attempt is audited.

    Raises lockout.SignInLocked while the account is shut, or when this wrong code shut it
    (commit anyway: the failure must count).
    """
    lockout.check_not_locked(account)
    actor = audit.staff_actor(account)
    if account.totp_secret and accept_totp(account, code):
        method = "totp"
    elif use_recovery_code(account, code):
        method = "recovery"
    else:
        audit.record(actor, "staff.second_factor_failed", f"supporter:{account.id}")
        seconds = lockout.record_failure(account, "code")
        if seconds:
            raise lockout.SignInLocked(seconds)
        return None
    lockout.clear(account)
    audit.record(actor, "staff.login", f"supporter:{account.id}", method=method)
    return method
