"""Spent sign-in, verification and reset links, remembered so each link works only once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base, UTCDateTime, utcnow


class UsedToken(Base):
    __tablename__ = "used_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the link's random id. UNIQUE: a second use of the same link cannot insert.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: "verify", "reset" or "magic".
    purpose: Mapped[str] = mapped_column(String(20))
    supporter_id: Mapped[int] = mapped_column(
        ForeignKey("supporters.id", ondelete="CASCADE"), index=True
    )
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The link had expired by then anyway, so the row may be purged after this.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
