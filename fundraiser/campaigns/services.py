"""Campaign services: import articles, find campaigns, count clicks, compute totals."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from babel.numbers import is_currency
from sqlalchemy import func, select, update

from fundraiser.campaigns.importer import ArticleFormatError, parse_article
from fundraiser.database import dialect_insert
from fundraiser.extensions import db
from fundraiser.models import Campaign, EntryKind, LedgerEntry, OutboundClick, utcnow
from fundraiser.money import CURRENCY_RULES, AmountError, parse_amount

CHANNELS = ("paypal", "patreon")
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class CampaignImportError(ValueError):
    """Import refused; the message says why and nothing was changed."""


@dataclass(frozen=True)
class ImportResult:
    campaign: Campaign
    created: bool
    changed: bool


@dataclass(frozen=True)
class Totals:
    slug: str
    currency: str
    goal_minor: int
    raised_minor: int
    supporters: int

    @property
    def percent(self) -> int:
        if self.goal_minor <= 0:
            return 0
        return min(100, self.raised_minor * 100 // self.goal_minor)

    def as_json(self) -> dict:
        return {
            "slug": self.slug,
            "currency": self.currency,
            "goal_minor": self.goal_minor,
            "raised_minor": self.raised_minor,
            "supporters": self.supporters,
        }


def validate_currency(code: str) -> str:
    """An ISO 4217 code we can take donations in, upper-cased, or CampaignImportError."""
    code = (code or "").strip().upper()
    # Babel's get_currency_name echoes unknown codes back, so ask is_currency instead.
    if len(code) != 3 or not is_currency(code):
        raise CampaignImportError(f"{code or 'An empty code'} is not an ISO 4217 currency.")
    if code not in CURRENCY_RULES:
        accepted = ", ".join(sorted(CURRENCY_RULES))
        raise CampaignImportError(f"{code} is not a currency we take donations in ({accepted}).")
    return code


def import_campaign(
    path: Path, slug: str, goal: str, currency: str, make_default: bool = False
) -> ImportResult:
    """Create or update the campaign `slug` from a plain-text article, all or nothing."""
    slug = slug.strip().lower()
    # ASCII only and no stray hyphens: the slug goes into URLs and /out/ query strings.
    if not _SLUG_RE.fullmatch(slug) or len(slug) > 80:
        raise CampaignImportError(
            f"The slug {slug!r} must be letters a-z, digits and single hyphens (at most 80)."
        )
    currency = validate_currency(currency)
    try:
        goal_minor = parse_amount(goal, currency)
    except AmountError as exc:
        raise CampaignImportError(f"Goal: {exc}") from exc
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CampaignImportError(f"Cannot read {path}: {exc.strerror}") from exc
    try:
        article = parse_article(raw, slug)
    except ArticleFormatError as exc:
        raise CampaignImportError(str(exc)) from exc

    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    created = campaign is None
    if created:
        campaign = Campaign(slug=slug, content_version=0)
        db.session.add(campaign)
    fields = {
        "title": article.title,
        "body_markdown": article.body_markdown,
        "appeal_markdown": article.appeal_markdown,
        "published_on": article.published_on,
        "photo_caption": article.photo_caption,
        "goal_minor": goal_minor,
        "currency": currency,
    }
    changed = created or any(getattr(campaign, k) != v for k, v in fields.items())
    for key, value in fields.items():
        setattr(campaign, key, value)
    if changed:
        campaign.content_version = (campaign.content_version or 0) + 1
    if make_default:
        set_default(campaign)
    return ImportResult(campaign, created, changed)


def set_default(campaign: Campaign) -> None:
    db.session.flush()
    db.session.execute(update(Campaign).where(Campaign.id != campaign.id).values(is_default=False))
    campaign.is_default = True


def default_campaign() -> Campaign | None:
    return db.session.scalar(
        select(Campaign).where(Campaign.is_default.is_(True)).order_by(Campaign.id).limit(1)
    )


def campaign_by_slug(slug: str) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def all_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.created_at, Campaign.id)))


def campaign_totals(campaign: Campaign) -> Totals:
    """Raised (net of refunds and withdrawn disputes) and supporters, straight from the ledger."""
    in_campaign = (LedgerEntry.campaign_id == campaign.id) & (
        LedgerEntry.currency == campaign.currency
    )
    raised = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(in_campaign)
    )
    donor = func.coalesce(LedgerEntry.donor_email, LedgerEntry.payment_ref)
    supporters = db.session.scalar(
        select(func.count(func.distinct(donor))).where(
            in_campaign, LedgerEntry.kind == EntryKind.PAYMENT.value
        )
    )
    return Totals(campaign.slug, campaign.currency, campaign.goal_minor, int(raised), supporters)


def record_outbound_click(campaign: Campaign, channel: str, day: date | None = None) -> None:
    """Count one click on PayPal/Patreon for this campaign today (an atomic upsert)."""
    day = day or utcnow().date()
    statement = dialect_insert(OutboundClick).values(
        campaign_id=campaign.id, channel=channel, day=day, clicks=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "channel", "day"],
        set_={"clicks": OutboundClick.clicks + 1},
    )
    db.session.execute(statement)


def outbound_clicks(campaign: Campaign) -> dict[str, int]:
    rows = db.session.execute(
        select(OutboundClick.channel, func.sum(OutboundClick.clicks))
        .where(OutboundClick.campaign_id == campaign.id)
        .group_by(OutboundClick.channel)
    )
    counts = dict.fromkeys(CHANNELS, 0)
    counts.update({channel: int(total) for channel, total in rows})
    return counts


def landing_etag(campaign: Campaign, totals: Totals, build_id: str) -> str:
    """Changes whenever anything on the page would: content, figures, or the code."""
    parts = (campaign.id, campaign.content_version, campaign.is_open, totals.raised_minor)
    key = ":".join(map(str, (*parts, totals.supporters, build_id)))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def ledger_changed(campaign_id: int) -> None:
    """Called after every ledger write for a campaign, so cached totals can be dropped."""
