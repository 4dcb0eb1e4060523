"""Supporters: readers with an account, and staff (a supporter with a staff role)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base, UTCDateTime, utcnow


class Role(StrEnum):
    SUPPORTER = "supporter"
    VIEWER = "viewer"
    STAFF = "staff"
    ADMIN = "admin"


#: What each role may do, in rising order of power.
ROLE_RANK = {Role.SUPPORTER: 0, Role.VIEWER: 1, Role.STAFF: 2, Role.ADMIN: 3}


class Supporter(UserMixin, Base):
    __tablename__ = "supporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased; the key that links donations made before the account existed.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: argon2id hash; None for accounts that only use sign-in links.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    #: Consent to appear by name in public supporter lists.
    show_publicly: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(20), default=Role.SUPPORTER.value)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of every session cookie; bumping it logs the supporter out everywhere.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Base32 TOTP secret once a second factor is enrolled (staff).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The TOTP time step of the last code accepted; a code is good once (no replay).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    #: JSON list of argon2 hashes of unused recovery codes.
    totp_recovery_hashes: Mapped[str] = mapped_column(Text, default="[]")
    #: The TOTP secret shown to the latest staff sign-in that is enrolling; kept here, not
    #: in the (readable) session cookie, until a code from it confirms it.
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: Wrong staff passwords and second-factor codes since the last full staff sign-in.
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Staff sign-in is refused until then (set once failed_sign_ins reaches the threshold).
    sign_in_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The language of their mails, receipts and statements (a shipped code; None: English).
    #: Set from the page they last gave or registered on; changeable in their settings.
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        # The session version travels with the id so a bump invalidates old sessions.
        return f"{self.id}:{self.session_version}"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def has_role(self, role: Role) -> bool:
        return ROLE_RANK.get(Role(self.role), 0) >= ROLE_RANK[role]
