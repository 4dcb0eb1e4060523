"""Campaign pages: the landing page, any campaign by slug, live totals, outbound links."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
)
from flask_babel import gettext as _

from fundraiser.cache import page_cache, snapshots
from fundraiser.campaigns import photos, services, translations
from fundraiser.campaigns.content import summary
from fundraiser.database import database_state
from fundraiser.donations.panel import panel_for
from fundraiser.donations.wall import recent_supporters
from fundraiser.extensions import db, limiter
from fundraiser.i18n import current_language
from fundraiser.security import allow_framing_by, mark_same_for_everyone
from fundraiser.shared_responses import share_response

bp = Blueprint("campaigns", __name__)


def _public_cache(response, max_age: int):
    mark_same_for_everyone()
    share_response(_snapshot_seconds())
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.cache_control.stale_while_revalidate = max_age * 2
    return response


#: Rendered pages are kept this long (seconds) per process; the key changes with the page.
RENDERED_PAGE_SECONDS = 300


def _landing_html(campaign, totals, etag: str) -> str:
    """The page's HTML, rendered once per process for each version of what it shows.

    The ETag already changes with the article (content_version, bumped on import), the
    figures, the open/closed state and the code; updated_at adds any other edit to the row.
    """
    # The ETag names the language; the path, because hreflang links name the page's address.
    key = f"landing:{campaign.id}:{campaign.content_version}:{campaign.updated_at}:{etag}"
    key += f":{request.path}"
    pages = page_cache()
    html = pages.get(key)
    if html is None:
        shown = translations.localized(campaign, current_language())
        html = render_template(
            "campaigns/landing.html",
            campaign=shown,
            totals=totals,
            panel=panel_for(campaign),
            wall=recent_supporters(campaign),
            photo=photos.photo_sources(campaign),
            summary=summary(shown.body_markdown),
        )
        pages.set(key, html, RENDERED_PAGE_SECONDS)
    return html


def _snapshot_seconds() -> float:
    """PAGE_SNAPSHOT_SECONDS: 1 by default (every ledger change drops the snapshots)."""
    return float(current_app.config.get("PAGE_SNAPSHOT_SECONDS", 1.0))


def _snapshot(key: str, build):
    """What `build()` returns, reused by this process for PAGE_SNAPSHOT_SECONDS.

    This is what makes a viral article cheap: for a second, the page and the totals are a
    dict lookup, with no PostgreSQL or Redis round trip (each costs more than a hello-world
    request). The figures stay within a second of the shared totals cache, which itself
    follows every ledger write; `ledger_changed` also drops this process's snapshots.
    """
    seconds = _snapshot_seconds()
    store = snapshots()
    found = store.get(key) if seconds > 0 else None
    if found is None:
        found = build()
        if found is not None and seconds > 0:
            store.set(key, found, seconds)
    return found


def _page(campaign) -> tuple[str, str] | None:
    """(ETag, HTML) of a campaign's page, or None when there is no such campaign."""
    if campaign is None:
        return None
    totals = services.campaign_totals(campaign)
    language = current_language()
    etag = services.landing_etag(campaign, totals, current_app.config["BUILD_ID"], language)
    return etag, _landing_html(campaign, totals, etag)


def _page_response(page: tuple[str, str]):
    etag, html = page
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.make_response(html)
    response.set_etag(etag)
    return _public_cache(response, current_app.config["LANDING_MAX_AGE"])


@bp.get("/")
@limiter.exempt  # no limits apply; skipping the check saves ~0.15 ms on the hottest page
def landing():
    """The default campaign: the article with its donation panel."""
    page = _snapshot(f"page:{current_language()}:", lambda: _page(services.default_campaign()))
    if page is None:
        abort(404, description=_("No campaign has been published yet."))
    return _page_response(page)


@bp.get("/campaigns/<slug>")
@limiter.exempt
def campaign_page(slug: str):
    """Any campaign by its slug."""
    key = f"page:{current_language()}:{slug}"
    page = _snapshot(key, lambda: _page(services.campaign_by_slug(slug)))
    return _page_response(page or abort(404))


def _embed(campaign) -> tuple[str, str] | None:
    """(ETag, HTML) of a campaign's embeddable panel, or None when there is no such campaign."""
    if campaign is None:
        return None
    totals = services.campaign_totals(campaign)
    build_id = current_app.config["BUILD_ID"]
    etag = "embed-" + services.landing_etag(campaign, totals, build_id, current_language())
    html = render_template(
        "campaigns/embed.html", campaign=campaign, totals=totals, panel=panel_for(campaign)
    )
    return etag, html


@bp.get("/embed/<slug>")
@limiter.exempt
def embed(slug: str):
    """A compact donation panel for an iframe on the site's other pages."""
    key = f"embed:{current_language()}:{slug}"
    page = _snapshot(key, lambda: _embed(services.campaign_by_slug(slug)))
    allow_framing_by(current_app.config["EMBED_ALLOWED_ORIGINS"])
    return _page_response(page or abort(404))


@bp.get("/embed.js")
@limiter.exempt
def embed_script():
    """The one-line snippet's loader: a stable address, so it is cached for an hour only."""
    response = send_from_directory(current_app.static_folder, "js/embed.js", max_age=3600)
    response.cache_control.public = True
    return response


def _totals_body(slug: str) -> dict | None:
    campaign = services.campaign_by_slug(slug)
    return None if campaign is None else services.campaign_totals(campaign).as_json()


@bp.get("/api/campaigns/<slug>/totals")
@limiter.exempt
def campaign_totals(slug: str):
    """Live figures for the progress bar, as JSON."""
    body = _snapshot(f"totals:{slug}", lambda: _totals_body(slug))
    if body is None:
        abort(404, description=_("No such campaign."))
    return _public_cache(jsonify(body), current_app.config["TOTALS_MAX_AGE"])


#: Fingerprinted files never change under their name.
IMMUTABLE_SECONDS = 365 * 24 * 3600


@bp.get("/media/<name>")
@limiter.exempt
def media(name: str):
    """A campaign photo (nginx serves these itself in production)."""
    response = send_from_directory(photos.media_dir(), name, max_age=IMMUTABLE_SECONDS)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


@bp.get("/out/<channel>")
def outbound(channel: str):
    """Count a click on PayPal or Patreon for the campaign, then send the reader there."""
    if channel not in services.CHANNELS:
        abort(404)
    target = current_app.config["PAYPAL_DONATE_URL" if channel == "paypal" else "PATREON_URL"]
    slug = request.args.get("campaign", "")
    campaign = services.campaign_by_slug(slug) if slug else services.default_campaign()
    if channel == "paypal" and current_app.config.get("PAYPAL_DEMO_MODE"):
        # Demo mode: the stand-in's donate page, told the campaign (PayPal's `custom`).
        query = urlencode({"campaign": campaign.slug if campaign else ""})
        target = f"{current_app.config['PAYPAL_SIMULATOR_URL']}/donate?{query}"
    if channel == "patreon" and current_app.config.get("PATREON_DEMO_MODE"):
        target = f"{current_app.config['PATREON_SIMULATOR_URL']}/join"
    if campaign is not None:
        services.record_outbound_click(campaign, channel, client=request.remote_addr or "")
        db.session.commit()
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Liveness and database state for load balancers."""
    ok, detail = database_state()
    body = {"status": "ok" if ok else "unavailable", "database": detail}
    response = jsonify(body)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
