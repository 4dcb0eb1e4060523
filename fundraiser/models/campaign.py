"""Campaigns (an article turned into a fundraising page) and their outbound click counts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
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
    #: Preset amounts per frequency, {"monthly": [{"amount": 10, "impact": "…"}, …], …} in
    #: major units, each with an optional line saying what it pays for; None: the defaults.
    preset_ladders: Mapped[dict | None] = mapped_column(JSON)
    # These three have database defaults only, so inserts written for older schemas still work.
    #: The frequency the form opens on: "one-time", "monthly" or "yearly".
    default_frequency: Mapped[str] = mapped_column(String(10), server_default="one-time")
    #: Stem of the fingerprinted photo files in the media folder ("<stem>-<width>.jpg").
    photo_key: Mapped[str | None] = mapped_column(String(80))
    #: Widths in pixels the photo was resized to, ascending ("480,960,1600").
    photo_widths: Mapped[str] = mapped_column(String(80), server_default="")
    #: Height over width of the photo, in thousandths, so the page reserves its space.
    photo_ratio_milli: Mapped[int] = mapped_column(Integer, server_default="0")
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


class CampaignTranslation(Base):
    """The campaign's article in another language (`flask campaign import … --lang de`).

    Pages in that language show it instead of the original; the figures, ladders and photo
    stay the campaign's own.
    """

    __tablename__ = "campaign_translations"
    __table_args__ = (
        UniqueConstraint("campaign_id", "language", name="uq_campaign_translations_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    #: A shipped language code other than the original's ("de", "fr", "es", "ru").
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(300))
    body_markdown: Mapped[str] = mapped_column(Text)
    appeal_markdown: Mapped[str] = mapped_column(Text, default="")
    photo_caption: Mapped[str] = mapped_column(Text, default="")
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
