"""Donation pages: POST /donate hands off to Stripe Checkout; thank-you and cancel pages."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from fundraiser.accounts import language
from fundraiser.campaigns import services as campaigns
from fundraiser.campaigns import translations
from fundraiser.donations import abuse, services
from fundraiser.donations.forms import validate_donation
from fundraiser.donations.panel import panel_for
from fundraiser.extensions import csrf, db, limiter
from fundraiser.i18n import current_language
from fundraiser.money import major_units_text
from fundraiser.security import same_origin_required

bp = Blueprint("donations", __name__)
SESSION_ID_RE = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
PUBLIC_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def register(app: Flask) -> None:
    app.register_blueprint(bp)


def _render_form(campaign, values: dict, errors: dict, status: int):
    totals = campaigns.campaign_totals(campaign)
    response = current_app.make_response(
        (
            render_template(
                "campaigns/landing.html",
                campaign=translations.localized(campaign, current_language()),
                totals=totals,
                panel=panel_for(campaign, values),
                form_values=values,
                errors=errors,
            ),
            status,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_challenge(values: dict, difficulty: int | None):
    """One more step for a source that looks like a card tester: the browser proves a little
    work, then resubmits."""
    response = current_app.make_response(
        render_template(
            "donations/challenge.html",
            values={k: v for k, v in values.items() if not k.startswith("pow_")},
            **abuse.new_challenge(difficulty),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


def submission_nonce() -> str | None:
    """Which browser sent the form: a random nonce static/js/donate.js puts in the form when
    the page loads (the cached page itself carries none), so a double click sends it twice.

    Without script there is none, and each POST is its own submission: a browser shows only
    the answer to the last of a double submit, so the reader still sees and pays one checkout
    (the other is never shown and lapses); merging by address and User-Agent instead could
    send one reader to another's checkout.
    """
    nonce = request.form.get("submission_nonce", "")
    return nonce if NONCE_RE.match(nonce) else None


@bp.post("/donate")
@csrf.exempt  # the form is on a page cached for everyone; same_origin_required guards it
@same_origin_required
@limiter.limit(lambda: current_app.config.get("DONATE_RATE_LIMIT", "20 per minute;200 per hour"))
def donate():
    """Validate the donation form and send the reader to Stripe Checkout."""
    campaign = campaigns.campaign_by_slug((request.form.get("campaign") or "").strip())
    if campaign is None:
        abort(400, description=_("That campaign doesn’t exist."))
    result = validate_donation(
        request.form,
        current_app.config["DONATION_CURRENCIES"],
        current_app.config["DONATION_MAX_MAJOR"],
    )
    if result.request is None:
        return _render_form(campaign, result.values, result.errors, 400)
    if not campaign.is_open:
        return _render_form(campaign, result.values, {"form": str(services.CLOSED_MESSAGE)}, 400)
    verdict, difficulty = abuse.gate(
        request.remote_addr or "",
        result.request.amount_minor,
        request.form.get(abuse.HONEYPOT_FIELD, ""),
        request.form.get("pow_challenge", ""),
        request.form.get("pow_solution", ""),
    )
    db.session.commit()
    if verdict == "bot":
        return _render_form(campaign, result.values, {"form": _("Please try again.")}, 400)
    if verdict == "challenge":
        return _render_challenge(result.values, difficulty)
    try:
        intent = services.start_checkout(
            result.request, campaign, submission_nonce(), abuse.source_tag(request.remote_addr)
        )
    except services.DonationUnavailable:
        message = _(
            "Card payments are unavailable right now. Please try again in a few minutes, "
            "or give through PayPal below."
        )
        return _render_form(campaign, result.values, {"form": message}, 503)
    except services.DonationRefused as exc:
        return _render_form(campaign, result.values, {"form": str(exc)}, 400)
    if current_user.is_authenticated:  # a signed-in supporter gives: keep the page's language
        language.remember(current_user, current_language())
    db.session.commit()
    return redirect(intent.checkout_url, code=303)


@bp.get("/donate")
def donate_page():
    """The form lives on the campaign page."""
    return redirect(url_for("campaigns.landing"), code=302)


@bp.get("/donate/thanks")
@limiter.limit(lambda: current_app.config.get("THANKS_RATE_LIMIT", "10 per minute;60 per hour"))
def thanks():
    """Thank the reader for a finished checkout, confirming with Stripe if we must."""
    session_id = request.args.get("session_id", "")
    if not SESSION_ID_RE.match(session_id):
        abort(404, description=_("We couldn’t find that donation."))

    intent = services.confirm_checkout(session_id)
    if intent is None:
        abort(404, description=_("We couldn’t find that donation."))
    response = current_app.make_response(render_template("donations/thanks.html", intent=intent))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/donate/cancelled")
def cancelled():
    """Back from Checkout without paying: the form again, with the reader's choices kept."""
    public_id = request.args.get("intent", "")
    intent = services.intent_for_cancel(public_id) if PUBLIC_ID_RE.match(public_id) else None
    if intent is None:
        return redirect(url_for("campaigns.landing"), code=302)
    values = {
        "amount": "other",
        "amount_other": major_units_text(intent.amount_minor, intent.currency),
        "currency": intent.currency,
        "frequency": intent.frequency,
        "email": intent.email or "",
        "name": intent.name,
        "message": intent.message,
        "cover_fees": "1" if intent.fee_cover_minor else "",
        "anonymous": "1" if intent.anonymous else "",
        "show_amount": "1" if intent.show_amount else "",
    }
    notice = _(
        "You left the secure checkout before paying, so nothing was charged. "
        "Your choices are kept below."
    )
    return _render_form(intent.campaign, values, {"notice": notice}, 200)
