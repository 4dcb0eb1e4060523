"""Failed staff sign-ins counted per account in the database: growing lockouts and a warning.

The count lives on the account row, not in the session cookie (which a guesser can replay)
nor per address (which a guesser can change), so it holds across browsers, addresses and
app hosts. Wrong passwords and wrong second-factor codes share one count; only a complete
sign-in (password and second factor) clears it.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from fundraiser.dashboard import audit
from fundraiser.extensions import db
from fundraiser.mail import send_mail
from fundraiser.models import Role, Supporter, utcnow

#: Failures allowed before the first lockout.
THRESHOLD = 5
#: The first lockout; each further failure past the threshold doubles it …
FIRST_LOCK_SECONDS = 60
#: … up to this much, so an attack keeps the account shut without shutting it for days.
LONGEST_LOCK_SECONDS = 60 * 60


class SignInLocked(Exception):
    """Staff sign-in for this account is refused for `seconds` more."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"locked for {seconds} s")
        self.seconds = seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return (
            "Too many failed sign-ins for this account. "
            f"Try again in {minutes} {unit}; the account and the admins have been told."
        )


def seconds_locked(account: Supporter, now: datetime | None = None) -> int:
    until = account.sign_in_locked_until
    if until is None:
        return 0
    return max(0, math.ceil((until - (now or utcnow())).total_seconds()))


def check_not_locked(account: Supporter) -> None:
    """Raise SignInLocked while the account is shut."""
    seconds = seconds_locked(account)
    if seconds:
        raise SignInLocked(seconds)


def lock_seconds(failures: int) -> int:
    """How long the failure numbered `failures` shuts the account (0 below the threshold)."""
    if failures < THRESHOLD:
        return 0
    doublings = min(failures - THRESHOLD, 16)  # 2**16 minutes is past the cap already
    return min(FIRST_LOCK_SECONDS * 2**doublings, LONGEST_LOCK_SECONDS)


def record_failure(account: Supporter, kind: str) -> int:
    """Count a wrong password or code; returns the seconds the account is now shut (0: not).

    The increment is one UPDATE … RETURNING, so concurrent failures each count and exactly
    one of them is the one that crosses the threshold (and sends the warning).
    """
    failures = db.session.execute(
        update(Supporter)
        .where(Supporter.id == account.id)
        .values(failed_sign_ins=Supporter.failed_sign_ins + 1)
        .returning(Supporter.failed_sign_ins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(account, "failed_sign_ins", failures)
    seconds = lock_seconds(failures)
    if not seconds:
        return 0
    until = utcnow() + timedelta(seconds=seconds)
    db.session.execute(
        update(Supporter)
        .where(Supporter.id == account.id)
        .values(sign_in_locked_until=until)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(account, "sign_in_locked_until", until)
    if failures == THRESHOLD:
        _warn(account, kind)
    return seconds


def clear(account: Supporter) -> None:
    """A complete sign-in: the count starts again."""
    if not account.failed_sign_ins and account.sign_in_locked_until is None:
        return
    account.failed_sign_ins = 0
    account.sign_in_locked_until = None


def _warn(account: Supporter, kind: str) -> None:
    """Once per run of failures: tell the account and every active admin, and audit it."""
    audit.record(
        "anonymous",
        "staff.sign_in_locked",
        f"supporter:{account.id}",
        failures=THRESHOLD,
        last=kind,
    )
    for address in _recipients(account):
        send_mail(
            address,
            "Staff sign-in locked after failed attempts",
            "staff_locked",
            account_email=account.email,
            failures=THRESHOLD,
            minutes=FIRST_LOCK_SECONDS // 60,
            is_owner=address == account.email,
        )


def _recipients(account: Supporter) -> list[str]:
    admins = db.session.scalars(
        select(Supporter.email).where(
            Supporter.role == Role.ADMIN.value,
            Supporter.is_active.is_(True),
            Supporter.deleted_at.is_(None),
            Supporter.email.is_not(None),
        )
    )
    addresses = [account.email] if account.email else []
    return addresses + sorted({a for a in admins if a and a != account.email})
