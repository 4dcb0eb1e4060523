"""Campaign pages: the landing page, any campaign by slug, live totals, outbound links."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request

from fundraiser.cache import page_cache
from fundraiser.campaigns import services
from fundraiser.database import database_state
from fundraiser.extensions import db, limiter
from fundraiser.security import mark_same_for_everyone

bp = Blueprint("campaigns", __name__)

PRESET_AMOUNTS_MAJOR = (5, 10, 25, 50, 100)


def _public_cache(response, max_age: int):
    mark_same_for_everyone()
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
    key = f"landing:{campaign.id}:{campaign.content_version}:{campaign.updated_at}:{etag}"
    pages = page_cache()
    html = pages.get(key)
    if html is None:
        html = render_template(
            "campaigns/landing.html",
            campaign=campaign,
            totals=totals,
            presets=PRESET_AMOUNTS_MAJOR,
            donation_form=None,
        )
        pages.set(key, html, RENDERED_PAGE_SECONDS)
    return html


def _render_campaign(campaign):
    totals = services.campaign_totals(campaign)
    etag = services.landing_etag(campaign, totals, current_app.config["BUILD_ID"])
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.make_response(_landing_html(campaign, totals, etag))
    response.set_etag(etag)
    return _public_cache(response, current_app.config["LANDING_MAX_AGE"])


@bp.get("/")
def landing():
    """The default campaign: the article with its donation panel."""
    campaign = services.default_campaign()
    if campaign is None:
        abort(404, description="No campaign has been published yet.")
    return _render_campaign(campaign)


@bp.get("/campaigns/<slug>")
def campaign_page(slug: str):
    """Any campaign by its slug."""
    campaign = services.campaign_by_slug(slug) or abort(404)
    return _render_campaign(campaign)


@bp.get("/api/campaigns/<slug>/totals")
@limiter.exempt
def campaign_totals(slug: str):
    """Live figures for the progress bar, as JSON."""
    campaign = services.campaign_by_slug(slug) or abort(404, description="No such campaign.")
    response = jsonify(services.campaign_totals(campaign).as_json())
    return _public_cache(response, current_app.config["TOTALS_MAX_AGE"])


@bp.get("/out/<channel>")
def outbound(channel: str):
    """Count a click on PayPal or Patreon for the campaign, then send the reader there."""
    if channel not in services.CHANNELS:
        abort(404)
    target = current_app.config["PAYPAL_DONATE_URL" if channel == "paypal" else "PATREON_URL"]
    slug = request.args.get("campaign", "")
    campaign = services.campaign_by_slug(slug) if slug else services.default_campaign()
    if campaign is not None:
        services.record_outbound_click(campaign, channel)
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
