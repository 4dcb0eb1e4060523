"""Emails sent when payments change: receipts, refunds, pledge changes, failed payments,
cancellations. Receivers of committed changes: see payments.after_commit for who calls them."""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import aliased

from fundraiser.accounts.language import chosen_language, language_of, writing_in
from fundraiser.extensions import db
from fundraiser.mail import external_url, send_mail
from fundraiser.models import Campaign, EntryKind, LedgerEntry, Pledge, Supporter
from fundraiser.money import format_money

log = logging.getLogger(__name__)

INTERVAL_WORDS = {"month": "monthly", "year": "yearly"}


def _pledge_recipient(pledge: Pledge) -> str | None:
    if pledge.email:
        return pledge.email
    if pledge.supporter_id:
        supporter = db.session.get(Supporter, pledge.supporter_id)
        return supporter.email if supporter else None
    return None


_EARLIER = aliased(LedgerEntry)

#: Everything a receipt shows or decides on, in one query: the entry's own columns (not the
#: whole row), its campaign's title, the reader's language and whether the pledge (if any)
#: had a payment before this one (if not, the receipt is also the welcome). One statement
#: object for the process, so SQLAlchemy works out its cache key once.
_RECEIPT = (
    select(
        LedgerEntry.id,
        LedgerEntry.donor_email,
        LedgerEntry.donor_name,
        LedgerEntry.supporter_id,
        LedgerEntry.intent_id,
        LedgerEntry.pledge_id,
        LedgerEntry.occurred_at,
        LedgerEntry.amount_minor,
        LedgerEntry.currency,
        LedgerEntry.frequency,
        LedgerEntry.payment_ref,
        Campaign.title.label("campaign_title"),
        chosen_language(
            LedgerEntry.supporter_id,
            # SQL's lower(), as Python's for the ASCII addresses we can mail (see mail._address)
            func.lower(LedgerEntry.donor_email),
            LedgerEntry.intent_id,
            LedgerEntry.pledge_id,
        ).label("language"),
        select(_EARLIER.id)
        .where(
            _EARLIER.pledge_id == LedgerEntry.pledge_id,
            _EARLIER.kind == EntryKind.PAYMENT.value,
            _EARLIER.id < LedgerEntry.id,
        )
        .exists()
        .label("paid_before"),
    )
    .join(Campaign, Campaign.id == LedgerEntry.campaign_id)
    .where(LedgerEntry.id == bindparam("entry_id"))
)


def send_receipt(entry_id: int) -> None:
    """The receipt; for a regular gift's first payment it is also the welcome."""
    # Through the session's connection: for one row the ORM's result handling costs more
    # than the query (the statement reads columns, no model to load).
    entry = db.session.connection().execute(_RECEIPT, {"entry_id": entry_id}).first()
    if entry is None or not entry.donor_email:
        return
    with writing_in(entry.language):
        _send_receipt(entry)


def _send_receipt(entry) -> None:
    welcome = entry.pledge_id is not None and not entry.paid_before
    if welcome:
        subject = _l(
            "Welcome, and thank you — your receipt for %(campaign)s",
            campaign=entry.campaign_title,
        )
    else:
        subject = _l("Thank you — your receipt for %(campaign)s", campaign=entry.campaign_title)
    send_mail(
        entry.donor_email,
        subject,
        "receipt",
        entry=entry,
        amount=format_money(entry.amount_minor, entry.currency),  # once for text and HTML
        recurring=entry.frequency != "one-time",
        welcome=welcome,
        account_url=external_url("accounts.overview"),
    )


def _entry_language(entry: LedgerEntry) -> str:
    return language_of(entry.supporter_id, entry.donor_email, entry.intent_id, entry.pledge_id)


def send_refund_notice(entry_id: int) -> None:
    """A short note that money went back to the donor's card."""
    refund = db.session.get(LedgerEntry, entry_id)
    if refund is None or not refund.donor_email:
        return
    with writing_in(_entry_language(refund)):
        _send_refund_notice(refund)


def _send_refund_notice(refund: LedgerEntry) -> None:
    send_mail(
        refund.donor_email,
        _l("Your refund from %(campaign)s", campaign=refund.campaign.title),
        "refund",
        refund=refund,
        amount_minor=-refund.amount_minor,
    )


def _mail_about_pledge(pledge_id: int, subject, template: str, **context) -> None:
    """Mail the pledge's supporter (if we know where) with the pledge and its interval word."""
    pledge = db.session.get(Pledge, pledge_id)
    recipient = pledge and _pledge_recipient(pledge)
    if not recipient:
        return
    interval_word = INTERVAL_WORDS.get(pledge.interval, pledge.interval)
    language = language_of(pledge.supporter_id, recipient, pledge.intent_id)
    with writing_in(language):
        context = {key: value() if callable(value) else value for key, value in context.items()}
        send_mail(
            recipient, subject, template, pledge=pledge, interval_word=interval_word, **context
        )


def send_pledge_changed(pledge_id: int) -> None:
    _mail_about_pledge(
        pledge_id,
        _l("Your regular gift has been changed"),
        "pledge_changed",
        pledge_url=lambda: external_url("accounts.pledge", pledge_id=pledge_id),
    )


def send_payment_failed(pledge_id: int, invoice_url: str | None = None) -> None:
    _mail_about_pledge(
        pledge_id,
        _l("Your regular gift could not be taken"),
        "payment_failed",
        card_url=lambda: external_url("accounts.pledge_card", pledge_id=pledge_id),
        invoice_url=invoice_url,
    )


def send_pledge_cancelled(pledge_id: int, reason: str | None = None) -> None:
    _mail_about_pledge(
        pledge_id,
        _l("Your regular gift has been cancelled"),
        "pledge_cancelled",
        reason=reason or "",
        campaign_url=lambda: external_url("campaigns.landing"),
    )
