"""Sign-in sessions kept on the server, so signing out (or idling, for staff) really ends them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base, UTCDateTime, utcnow


class LoginSession(Base):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the random key kept in the browser's session cookie (never the key itself).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    supporter_id: Mapped[int] = mapped_column(
        ForeignKey("supporters.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Last request seen, written at most once a minute; staff sessions idle out from it.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set at sign-out (or idle timeout); the session is dead from then on.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
