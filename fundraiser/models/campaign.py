"""Campaigns (an article turned into a fundraising page) and their outbound click counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base, UTCDateTime, utcnow


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: URL name, e.g. "kazakhstan-turmoil"; unique and immutable once published.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    #: The article body as Markdown (headings as "##"); rendered and sanitised for display.
    body_markdown: Mapped[str] = mapped_column(Text)
    #: The closing fundraising appeal, Markdown, shown beside the donation panel.
    appeal_markdown: Mapped[str] = mapped_column(Text, default="")
    published_on: Mapped[date | None] = mapped_column(Date)
    photo_caption: Mapped[str] = mapped_column(Text, default="")
    #: Goal in minor units of `currency`.
    goal_minor: Mapped[int] = mapped_column(Integer)
    #: ISO 4217 code, upper case.
    currency: Mapped[str] = mapped_column(String(3))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    #: First local day the campaign is meant to run (shown to staff; None: from publication).
    opens_on: Mapped[date | None] = mapped_column(Date)
    #: Last local day it is meant to run (None: open-ended). `is_open` is the switch readers see.
    closes_on: Mapped[date | None] = mapped_column(Date)
    #: Exactly one campaign is served at "/"; enforced in services.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Bumped on every content change so caches (ETag, rendered HTML) can tell.
    content_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OutboundClick(Base):
    """Clicks on the site's other channels (PayPal, Patreon), counted per campaign per day."""

    __tablename__ = "outbound_clicks"
    __table_args__ = (UniqueConstraint("campaign_id", "channel", "day", name="uq_outbound_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: "paypal" or "patreon".
    channel: Mapped[str] = mapped_column(String(20))
    day: Mapped[date] = mapped_column(Date)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
