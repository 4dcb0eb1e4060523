"""Emails sent when payments change: receipts, pledge changes, failed payments, cancellations."""

from __future__ import annotations

import logging

from fundraiser import jobs
from fundraiser.extensions import db
from fundraiser.mail import external_url, send_mail
from fundraiser.models import LedgerEntry, Pledge, Supporter
from fundraiser.payments import signals

log = logging.getLogger(__name__)

INTERVAL_WORDS = {"month": "monthly", "year": "yearly"}


def _pledge_recipient(pledge: Pledge) -> str | None:
    if pledge.email:
        return pledge.email
    if pledge.supporter_id:
        supporter = db.session.get(Supporter, pledge.supporter_id)
        return supporter.email if supporter else None
    return None


@jobs.in_background  # with Redis, rendering and sending happen in a job
def send_receipt(sender, entry_id: int, **_) -> None:
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or not entry.donor_email:
        return
    send_mail(
        entry.donor_email,
        f"Thank you — your receipt for {entry.campaign.title}",
        "receipt",
        entry=entry,
        recurring=entry.frequency != "one-time",
        account_url=external_url("accounts.overview"),
    )


def _mail_about_pledge(pledge_id: int, subject: str, template: str, **context) -> None:
    """Mail the pledge's supporter (if we know where) with the pledge and its interval word."""
    pledge = db.session.get(Pledge, pledge_id)
    recipient = pledge and _pledge_recipient(pledge)
    if not recipient:
        return
    interval_word = INTERVAL_WORDS.get(pledge.interval, pledge.interval)
    send_mail(recipient, subject, template, pledge=pledge, interval_word=interval_word, **context)


@jobs.in_background
def send_pledge_changed(sender, pledge_id: int, changes: dict | None = None, **_) -> None:
    _mail_about_pledge(
        pledge_id,
        "Your regular gift has been changed",
        "pledge_changed",
        changes=changes or {},
        pledge_url=external_url("accounts.pledge", pledge_id=pledge_id),
    )


@jobs.in_background
def send_payment_failed(sender, pledge_id: int, invoice_url: str | None = None, **_) -> None:
    _mail_about_pledge(
        pledge_id,
        "Your regular gift could not be taken",
        "payment_failed",
        card_url=external_url("accounts.pledge_card", pledge_id=pledge_id),
        invoice_url=invoice_url,
    )


@jobs.in_background
def send_pledge_cancelled(sender, pledge_id: int, reason: str | None = None, **_) -> None:
    _mail_about_pledge(
        pledge_id,
        "Your regular gift has been cancelled",
        "pledge_cancelled",
        reason=reason or "",
        campaign_url=external_url("campaigns.landing"),
    )


def connect_receivers() -> None:
    """Subscribe once per process (connecting the same function again is a no-op)."""
    signals.payment_recorded.connect(send_receipt)
    signals.pledge_changed.connect(send_pledge_changed)
    signals.pledge_payment_failed.connect(send_payment_failed)
    signals.pledge_cancelled.connect(send_pledge_cancelled)
