"""Campaign services: import articles, find campaigns, count clicks, compute totals."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from babel.numbers import is_currency
from flask import current_app, has_app_context
from sqlalchemy import func, select, update

from fundraiser import audit
from fundraiser import rates as rate_table
from fundraiser.cache import get_cache, snapshots
from fundraiser.campaigns.importer import ArticleFormatError, parse_article
from fundraiser.database import dialect_insert
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    LedgerChannelTotal,
    LedgerSupporterCount,
    LedgerTotal,
    OutboundClick,
    utcnow,
)
from fundraiser.money import CURRENCY_RULES, AmountError, parse_amount
from fundraiser.sources import first_time, source_of

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
    #: Each currency's own net sum, minor units (the campaign's currency included).
    by_currency: dict[str, int] = field(default_factory=dict)
    #: The reference rates' day used to count other currencies (ISO date), if any was.
    rate_date: str | None = None
    #: Per channel (stripe, paypal, patreon, offline), each currency's own net sum.
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

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
            "by_currency": dict(self.by_currency),
            "rate_date": self.rate_date,
            "by_channel": {channel: dict(sums) for channel, sums in self.by_channel.items()},
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


def validate_slug(slug: str) -> str:
    """A campaign's URL name, lower-cased, or CampaignImportError."""
    slug = (slug or "").strip().lower()
    # ASCII only and no stray hyphens: the slug goes into URLs and /out/ query strings.
    if not _SLUG_RE.fullmatch(slug) or len(slug) > 80:
        raise CampaignImportError(
            f"The slug {slug!r} must be letters a-z, digits and single hyphens (at most 80)."
        )
    return slug


def import_campaign(
    path: Path, slug: str, goal: str, currency: str, make_default: bool = False
) -> ImportResult:
    """Create or update the campaign `slug` from a plain-text article, all or nothing."""
    slug = validate_slug(slug)
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


def close_campaign(campaign: Campaign, actor: str):
    """Close the campaign to new gifts and expire its open checkouts; returns how many were
    expired and how many could not be now (Stripe unreachable: they lapse within the
    checkout lifetime anyway, and closing again retries them).

    The close is committed first, so no new checkout starts while the open ones are expired.
    """
    from fundraiser.donations.services import expire_open_checkouts

    if campaign.is_open:
        campaign.is_open = False
        audit.record(actor, "campaign.closed", f"campaign:{campaign.slug}")
    db.session.commit()
    return expire_open_checkouts(campaign, actor)


def default_campaign() -> Campaign | None:
    return db.session.scalar(
        select(Campaign).where(Campaign.is_default.is_(True)).order_by(Campaign.id).limit(1)
    )


def campaign_by_slug(slug: str) -> Campaign | None:
    return db.session.scalar(select(Campaign).where(Campaign.slug == slug))


def all_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.created_at, Campaign.id)))


def campaign_totals(campaign: Campaign) -> Totals:
    """Raised (net of refunds and withdrawn disputes) and supporters, from the ledger.

    Served from the cache when the ledger has not changed since (see `ledger_changed`) and
    the figures are under TOTALS_CACHE_SECONDS old, so a viral page costs no SUM per view.
    """
    figures = _cached_ledger_figures(campaign)
    return Totals(
        campaign.slug,
        campaign.currency,
        campaign.goal_minor,
        figures["raised"],
        figures["supporters"],
        figures["by_currency"],
        figures["rate_date"],
        figures.get("by_channel", {}),
    )


def _ledger_figures(campaign: Campaign) -> dict:
    """Raised in the campaign's currency counting every currency, each currency's own sum,
    and supporters, from the ledger's roll-ups (kept in the ledger's own transaction).

    A gift in another currency counts at what it settled to when the campaign's currency is
    the account's settlement currency and every such row has settled; otherwise at the
    newest stored reference rates (`flask rates import`)."""
    sums = rate_table.currency_sums(LedgerTotal.campaign_id == campaign.id)
    settlement = current_app.config["SETTLEMENT_CURRENCY"]
    raised, rate_date = rate_table.total_in(campaign.currency, sums, settlement)
    by_currency = {item.currency: item.amount_minor for item in sums}
    supporters = db.session.scalar(
        select(LedgerSupporterCount.supporters).where(
            LedgerSupporterCount.campaign_id == campaign.id
        )
    )
    return {
        "raised": raised,
        "supporters": int(supporters or 0),
        "by_currency": by_currency,
        "rate_date": rate_date,
        "by_channel": channel_sums(campaign.id),
    }


def channel_sums(campaign_id: int) -> dict[str, dict[str, int]]:
    """Per channel, each currency's net sum (minor units), from the channel roll-up."""
    by_channel: dict[str, dict[str, int]] = {}
    rows = db.session.execute(
        select(
            LedgerChannelTotal.channel, LedgerChannelTotal.currency, LedgerChannelTotal.amount_minor
        )
        .where(LedgerChannelTotal.campaign_id == campaign_id)
        .order_by(LedgerChannelTotal.channel, LedgerChannelTotal.currency)
    )
    for channel, currency, amount in rows:
        by_channel.setdefault(channel, {})[currency] = int(amount)
    return by_channel


#: Cached figures may be shown this long after the ledger changed while one process (fleet-
#: wide, with Redis) recomputes them: a renewal storm then costs one SUM at a time, not one
#: per page view. It is also the most the page can lag if an invalidation is lost.
TOTALS_STALE_LIMIT_SECONDS = 5.0
#: The ledger version key outlives any cached figures by far; it only has to be unique.
_VERSION_TTL_SECONDS = 7 * 24 * 3600


def _totals_cache_seconds() -> float:
    """TOTALS_CACHE_SECONDS, 2 by default (every ledger change invalidates the figures)."""
    return float(current_app.config.get("TOTALS_CACHE_SECONDS", 2.0))


def _ledger_version_key(campaign_id: int) -> str:
    return f"ledger-version:{campaign_id}"


def _cached_ledger_figures(campaign: Campaign) -> dict:
    fresh_for = _totals_cache_seconds() if has_app_context() else 0
    if fresh_for <= 0:
        return _ledger_figures(campaign)
    cache = get_cache()
    # The creation time keeps a restored or re-created database from meeting old entries.
    born = int(campaign.created_at.timestamp()) if campaign.created_at else 0
    figures_key = f"totals:{campaign.id}:{born}:{campaign.currency}"
    version, cached = cache.get_many([_ledger_version_key(campaign.id), figures_key])
    version = int(version or 0)
    now = time.time()
    age = now - cached["at"] if isinstance(cached, dict) else None
    if age is not None and cached["v"] == version and age < fresh_for:
        return cached["figures"]
    lock_key = figures_key + ":computing"
    locked = age is not None and cache.add(lock_key, 1, TOTALS_STALE_LIMIT_SECONDS)
    if age is not None and not locked:
        return cached["figures"]  # another worker is recomputing them
    # The version was read before the SUM: a write landing meanwhile bumps it past this entry.
    figures = _ledger_figures(campaign)
    entry = {"v": version, "at": now, "figures": figures}
    cache.set(figures_key, entry, TOTALS_STALE_LIMIT_SECONDS)
    if locked:
        cache.delete(lock_key)
    return figures


#: One client's clicks on one campaign's link count once in this window.
CLICK_WINDOW_SECONDS = 30 * 60


def record_outbound_click(
    campaign: Campaign, channel: str, day: date | None = None, client: str | None = None
) -> bool:
    """Count one click on PayPal/Patreon for this campaign today (an atomic upsert).

    With `client` (the request's address), a client counts once per campaign, channel and
    window, so reloading the link cannot inflate the figures. Returns whether it counted.
    """
    if client is not None:
        who = source_of(client).address
        window = int(time.time()) // CLICK_WINDOW_SECONDS
        if not first_time(f"click:{campaign.id}:{channel}:{who}:{window}", CLICK_WINDOW_SECONDS):
            return False
    day = day or utcnow().date()
    statement = dialect_insert(OutboundClick).values(
        campaign_id=campaign.id, channel=channel, day=day, clicks=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "channel", "day"],
        set_={"clicks": OutboundClick.clicks + 1},
    )
    db.session.execute(statement)
    return True


def outbound_clicks(campaign: Campaign) -> dict[str, int]:
    rows = db.session.execute(
        select(OutboundClick.channel, func.sum(OutboundClick.clicks))
        .where(OutboundClick.campaign_id == campaign.id)
        .group_by(OutboundClick.channel)
    )
    counts = dict.fromkeys(CHANNELS, 0)
    counts.update({channel: int(total) for channel, total in rows})
    return counts


def landing_etag(campaign: Campaign, totals: Totals, build_id: str, language: str = "en") -> str:
    """Changes whenever anything on the page would: content, figures, the code or language."""
    parts = (campaign.id, campaign.content_version, campaign.is_open, totals.raised_minor)
    key = ":".join(map(str, (*parts, totals.supporters, build_id)))
    if language != "en":  # English keeps the ETag it always had
        key += f":{language}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def ledger_changed(campaign_id: int) -> None:
    """After-commit receiver of every ledger change to a campaign: cached totals are now old.

    Bumping a version (rather than deleting the figures) is race-free: a reader that summed
    the ledger just before this write stored its figures under the old version, so nobody
    takes them for current.
    """
    if not has_app_context():
        return
    get_cache().incr(_ledger_version_key(campaign_id), _VERSION_TTL_SECONDS)
    snapshots().clear()  # this process's finished pages show the old figures
