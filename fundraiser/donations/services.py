"""Donation services: turn a valid form into a Stripe Checkout session, confirm it afterwards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fundraiser.donations.forms import DonationRequest
from fundraiser.extensions import db
from fundraiser.i18n import current_language, language_prefix
from fundraiser.models import Campaign, DonationIntent, IntentStatus, utcnow
from fundraiser.money import fee_cover
from fundraiser.payments import events, gateway, ledger

#: Identical submissions from the same reader within this window reuse one checkout.
DUPLICATE_WINDOW_SECONDS = 10 * 60
REUSABLE = {IntentStatus.CREATED.value, IntentStatus.OPEN.value}
#: Who expires a checkout made while its campaign closed (intent status history, audit).
CLOSING_ACTOR = "system:campaign-closed"
CLOSED_MESSAGE = _l(
    "This appeal has closed, so it no longer takes donations. Thank you for wanting to help."
)


class DonationUnavailable(RuntimeError):
    """Stripe can't take the donation right now; nothing half-done was left behind."""


class DonationRefused(ValueError):
    """Stripe refused the donation as asked; the message is for the reader."""


def submission_key(request: DonationRequest, reader: str | None, now: datetime) -> str | None:
    """The same form from the same browser in the same window gives the same key.

    `reader` is the nonce the page's script made in that browser; without one (no script)
    there is no key, so two readers are never merged (see `views.submission_nonce`).
    """
    if not reader:
        return None
    window = int(now.timestamp()) // DUPLICATE_WINDOW_SECONDS
    fields = (
        request.campaign_slug, request.amount_minor, request.currency, request.frequency.value,
        request.email or "", request.name, request.anonymous, request.cover_fees, request.message,
        request.show_amount, reader, window,
    )  # fmt: skip
    return hashlib.sha256(repr(fields).encode()).hexdigest()


def _intent_by_key(key: str) -> DonationIntent | None:
    return db.session.scalar(select(DonationIntent).where(DonationIntent.submission_key == key))


def _new_intent(
    request: DonationRequest, campaign: Campaign, key: str | None, source: str | None = None
) -> DonationIntent:
    extra = fee_cover(request.amount_minor, request.currency) if request.cover_fees else 0
    return DonationIntent(
        campaign=campaign,
        amount_minor=request.amount_minor,
        fee_cover_minor=extra,
        currency=request.currency,
        frequency=request.frequency.value,
        email=request.email,
        name="" if request.anonymous else request.name,
        anonymous=request.anonymous,
        message=request.message,
        show_amount=request.show_amount,
        submission_key=key,
        source=source,
        language=current_language(),
    )


def _claim_intent(
    request: DonationRequest, campaign: Campaign, key: str | None, source: str | None
) -> DonationIntent:
    """The intent for this submission: the twin of a double click, or a new one (committed)."""
    existing = _intent_by_key(key) if key else None
    if existing is not None and existing.status in REUSABLE:
        return existing
    intent = _new_intent(request, campaign, key if existing is None else None, source)
    db.session.add(intent)
    try:
        db.session.commit()
    except IntegrityError:
        # The other click of a double click committed first: use its intent.
        db.session.rollback()
        twin = _intent_by_key(key) if key else None
        if twin is None:
            raise
        return twin
    return intent


def start_checkout(
    request: DonationRequest, campaign: Campaign, reader: str | None, source: str | None = None
) -> DonationIntent:
    """An open Checkout session for this donation; repeats of the same submission reuse it.

    `source` is `abuse.source_tag` of the request, kept so Stripe's declines count there.
    """
    now = utcnow()
    intent = _claim_intent(request, campaign, submission_key(request, reader, now), source)
    if intent.status == IntentStatus.OPEN.value and intent.checkout_url:
        return intent
    # Back to the pages in the language the reader gave in (fixed by the intent, so a retry
    # sends Stripe the same parameters).
    base = current_app.config["BASE_URL"].rstrip("/") + language_prefix(intent.language)
    # The intent is committed before Stripe is called, so no database lock is held meanwhile
    # and a retry finds it; Stripe's idempotency key (the intent id) makes the retry safe.
    try:
        session = gateway.create_checkout_session(
            intent,
            success_url=f"{base}/donate/thanks?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/donate/cancelled?intent={intent.public_id}",
        )
    except gateway.PaymentsUnavailable as exc:
        intent.move_to(IntentStatus.FAILED, "reader:donate")
        db.session.commit()
        raise DonationUnavailable(str(exc)) from exc
    except gateway.PaymentRefused as exc:
        intent.move_to(IntentStatus.FAILED, "reader:donate")
        db.session.commit()
        raise DonationRefused(str(exc)) from exc
    intent.checkout_session_id = session["id"]
    intent.checkout_url = session["url"]
    intent.move_to(IntentStatus.OPEN, "reader:donate")
    _refuse_if_closed_meanwhile(intent)
    return intent


@dataclass(frozen=True)
class ExpiryResult:
    expired: int
    unreachable: int


def _apply_session(session: dict, actor: str) -> None:
    """Book what Stripe now says of a session (expired) in a unit of work (it commits)."""
    ledger.change(actor, lambda tx: events.apply_checkout_session(session, tx))


def expire_open_checkouts(campaign: Campaign, actor: str) -> ExpiryResult:
    """Expire at Stripe every open Checkout session of the campaign (it has just closed), so a
    checkout page left open in a tab can no longer take money for it. Commits each one."""
    query = select(DonationIntent.id).where(
        DonationIntent.campaign_id == campaign.id,
        DonationIntent.status == IntentStatus.OPEN.value,
        DonationIntent.checkout_session_id.is_not(None),
    )
    expired = unreachable = 0
    for intent_id in list(db.session.scalars(query)):
        intent = db.session.get(DonationIntent, intent_id)
        try:
            session = gateway.expire_checkout_session(intent.checkout_session_id)
        except gateway.PaymentRefused:
            continue  # completed or expired meanwhile: its webhook tells us which
        except gateway.PaymentsUnavailable:
            unreachable += 1  # it still expires by itself within CHECKOUT_LIFETIME_SECONDS
            continue
        _apply_session(session, actor)
        expired += 1
    return ExpiryResult(expired, unreachable)


def _refuse_if_closed_meanwhile(intent: DonationIntent) -> None:
    """The campaign may have closed while Stripe made the session (after the close listed the
    open ones): expire it at once rather than leave a way to pay a closed appeal."""
    db.session.refresh(intent.campaign, ["is_open"])
    if intent.campaign.is_open:
        return
    try:
        session = gateway.expire_checkout_session(intent.checkout_session_id)
    except (gateway.PaymentRefused, gateway.PaymentsUnavailable):
        intent.move_to(IntentStatus.EXPIRED, CLOSING_ACTOR)
        db.session.commit()
    else:
        _apply_session(session, CLOSING_ACTOR)  # commits the open intent, then expires it
    raise DonationRefused(str(CLOSED_MESSAGE))


def confirm_checkout(session_id: str) -> DonationIntent | None:
    """The intent behind a finished checkout, applying Stripe's answer if the webhook is late.

    Only sessions we created are looked up at Stripe: any other id is None without a call,
    so the public thank-you page cannot be used to make us query Stripe for strangers' ids.
    """
    intent = db.session.scalar(
        select(DonationIntent).where(DonationIntent.checkout_session_id == session_id)
    )
    if intent is None or intent.status == IntentStatus.PAID.value:
        return intent
    try:
        session = gateway.retrieve_checkout_session(session_id)
    except gateway.PaymentRefused:
        return intent  # Stripe doesn't know it: not ours
    except gateway.PaymentsUnavailable:
        return intent  # show what we know; the webhook will follow
    applied = ledger.change(
        "reader:thanks-page", lambda tx: events.apply_checkout_session(session, tx)
    )
    return applied or intent


def intent_for_cancel(public_id: str) -> DonationIntent | None:
    return db.session.scalar(select(DonationIntent).where(DonationIntent.public_id == public_id))
