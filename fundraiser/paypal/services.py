"""The PayPal adapter: a verified IPN message (or an activity-CSV row) becomes ledger facts
and a mirrored pledge, through `ledger.change`; booked once per txn_id."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone

from fundraiser.audit import record as audit
from fundraiser.campaigns.services import campaign_by_slug, default_campaign
from fundraiser.models import (
    Campaign,
    Channel,
    EntryKind,
    Frequency,
    Pledge,
    PledgeStatus,
    ledger_key,
    utcnow,
)
from fundraiser.payments import channel_books, channel_notices, ledger
from fundraiser.payments.channel_books import ChannelFact, minor_units
from fundraiser.payments.ledger import Transaction
from fundraiser.payments.lookups import email_of
from fundraiser.paypal import ipn

log = logging.getLogger(__name__)

PAYPAL = Channel.PAYPAL.value
_CURRENCY = re.compile(r"[A-Z]{3}")
_ZONES = {"PST": -8, "PDT": -7, "UTC": 0, "GMT": 0}

#: payment_status → the ledger kind it books (Pending, Denied, Failed… book nothing).
KIND_BY_STATUS = {
    "Completed": EntryKind.PAYMENT,
    "Refunded": EntryKind.REFUND,
    "Reversed": EntryKind.DISPUTE_OPENED,
    "Canceled_Reversal": EntryKind.DISPUTE_WON,
}
RECURRING_PAYMENTS = {"subscr_payment", "recurring_payment"}
SIGNUPS = {"subscr_signup", "recurring_payment_profile_created"}
ENDINGS = {
    "subscr_cancel",
    "subscr_eot",
    "recurring_payment_profile_cancel",
    "recurring_payment_expired",
}
TROUBLE = {
    "subscr_failed",
    "recurring_payment_failed",
    "recurring_payment_suspended",
    "recurring_payment_suspended_due_to_max_failed_payment",
    "recurring_payment_skipped",
}


class Outcome:
    BOOKED = "booked"
    KNOWN = "already known"
    IGNORED = "ignored"
    REFUSED = "refused"
    RETRY = "retry"


def receive(raw: bytes) -> str:
    """Handle one IPN POST body: parse, verify, check the receiver, apply. An Outcome."""
    try:
        fields = ipn.parse(raw)
    except ipn.MalformedMessage as error:
        log.warning("paypal ipn: malformed message refused: %s", error)
        return Outcome.REFUSED
    try:
        verified = ipn.verify(raw)
    except ipn.VerificationUnavailable as error:
        log.warning("paypal ipn %s: verification unreachable: %s", fields.get("txn_id"), error)
        return Outcome.RETRY
    # Refused messages book nothing; they are kept (cut short) for the drift report.
    if not verified:
        log.warning("paypal ipn %s: not VERIFIED, nothing booked", fields.get("txn_id"))
        channel_notices.refused(PAYPAL, "unverified", fields, raw, "PayPal did not answer VERIFIED")
        return Outcome.REFUSED
    if not ipn.sent_to_us(fields):
        receiver = fields.get("receiver_email") or fields.get("receiver_id") or ""
        log.warning(
            "paypal ipn %s: receiver %r is not our account, nothing booked",
            fields.get("txn_id"),
            receiver,
        )
        channel_notices.refused(PAYPAL, "not_ours", fields, raw, f"sent to {receiver[:200]!r}")
        return Outcome.REFUSED
    try:
        return ledger.change(f"paypal:ipn:{fields.get('ipn_track_id', '')}"[:100],
                             lambda tx: apply(fields, tx))  # fmt: skip
    except MalformedFields as error:
        log.warning("paypal ipn %s: %s, nothing booked", fields.get("txn_id"), error)
        channel_notices.refused(PAYPAL, "unreadable", fields, raw, str(error))
        return Outcome.REFUSED


class MalformedFields(ValueError):
    """A verified message whose fields we cannot book (an amount or currency we can't read)."""


def apply(fields: dict[str, str], tx: Transaction) -> str:
    """Apply one verified message inside a ledger change."""
    channel_notices.seen(PAYPAL, fields)
    txn_type = fields.get("txn_type", "")
    pledge = None
    if txn_type in SIGNUPS | ENDINGS | TROUBLE | RECURRING_PAYMENTS:
        pledge = mirror_pledge(fields, tx)
    kind = KIND_BY_STATUS.get(fields.get("payment_status", ""))
    if kind is None or not fields.get("txn_id"):
        return Outcome.BOOKED if pledge is not None else Outcome.IGNORED
    return book(payment_fact(fields, kind, pledge), tx)


def book(fact: ChannelFact, tx: Transaction) -> str:
    return Outcome.BOOKED if channel_books.record(fact, tx) else Outcome.KNOWN


def campaign_for(*names: str | None) -> Campaign:
    """The campaign a message or row names by slug (custom, item_number), else the default."""
    for name in names:
        slug = (name or "").strip().lower()
        if slug and len(slug) <= 80:
            campaign = campaign_by_slug(slug)
            if campaign is not None:
                return campaign
    campaign = default_campaign()
    if campaign is None:
        raise MalformedFields("no campaign to book it on")
    return campaign


def payment_fact(fields: dict[str, str], kind: EntryKind, pledge: Pledge | None) -> ChannelFact:
    currency = (fields.get("mc_currency") or "").strip()
    if not _CURRENCY.fullmatch(currency):
        raise MalformedFields(f"currency {currency!r}")
    try:
        gross = minor_units(fields.get("mc_gross", ""), currency)
        fee = minor_units(fields["mc_fee"], currency) if fields.get("mc_fee") else None
    except ValueError as error:
        raise MalformedFields(str(error)) from None
    if kind is EntryKind.PAYMENT or kind is EntryKind.DISPUTE_WON:
        gross = abs(gross)
    else:
        gross = -abs(gross)
    if gross == 0:
        raise MalformedFields("a zero amount")
    # A refund or reversal message names no txn_type (nor, often, the campaign): it belongs
    # where its payment was booked, with the payment's pledge and frequency.
    parent = None
    if kind is not EntryKind.PAYMENT and fields.get("parent_txn_id"):
        parent = channel_books.booked(PAYPAL, fields["parent_txn_id"][:255])
    if parent is not None:
        campaign_id, frequency, pledge_id = parent.campaign_id, parent.frequency, parent.pledge_id
    else:
        campaign_id = (
            pledge.campaign_id
            if pledge
            else campaign_for(fields.get("custom"), fields.get("item_number")).id
        )
        frequency = _frequency(pledge) if pledge else Frequency.ONE_TIME.value
        pledge_id = pledge.id if pledge else None
    name = " ".join(filter(None, (fields.get("first_name"), fields.get("last_name"))))
    return ChannelFact(
        channel=PAYPAL,
        external_id=fields["txn_id"][:255],
        kind=kind,
        campaign_id=campaign_id,
        amount_minor=gross,
        currency=currency,
        occurred_at=paypal_time(fields.get("payment_date")),
        fee_minor=abs(fee) if fee is not None and kind is EntryKind.PAYMENT else None,
        frequency=frequency,
        email=fields.get("payer_email"),
        name=name or fields.get("payer_business_name", ""),
        pledge_id=pledge_id,
        payment_external_id=(fields.get("parent_txn_id") or fields["txn_id"])[:255],
    )


_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_PAYPAL_DATE = re.compile(
    r"(\d{1,2}):(\d{2}):(\d{2}) ([A-Za-z]{3})[a-z]* (\d{1,2}),? (\d{4})(?: ([A-Za-z]{3,4}))?"
)


def paypal_time(text: str | None) -> datetime | None:
    """ "20:12:59 Jan 13, 2009 PST" or "03:06:57 Jun 27, 2014 PDT" (IPN's payment_date, in
    PayPal's Pacific time) as UTC; None if unreadable. Month names are read without the
    locale (strptime's %b follows LC_TIME)."""
    found = _PAYPAL_DATE.fullmatch(" ".join((text or "").split()))
    if found is None:
        return None
    hour, minute, second, month, day, year, zone = found.groups()
    number = _MONTHS.get(month.lower())
    hours = _ZONES.get((zone or "PST").upper())
    if number is None or hours is None:
        return None
    try:
        local = datetime(int(year), number, int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return local.replace(tzinfo=timezone(timedelta(hours=hours))).astimezone(UTC)


# --- Pledges ------------------------------------------------------------------------------

PERIOD_INTERVAL = {"M": "month", "Y": "year", "MONTHLY": "month", "YEARLY": "year"}


def _frequency(pledge: Pledge) -> str:
    return Frequency.YEARLY.value if pledge.interval == "year" else Frequency.MONTHLY.value


def mirror_pledge(fields: dict[str, str], tx: Transaction) -> Pledge | None:
    """The PayPal pledge a subscription message is about, created or brought up to date."""
    subscription_id = fields.get("subscr_id") or fields.get("recurring_payment_id")
    if not subscription_id:
        return None
    key = ledger_key(PAYPAL, subscription_id[:200])
    txn_type = fields.get("txn_type", "")
    currency = (fields.get("mc_currency") or fields.get("currency_code") or "").strip()
    if not _CURRENCY.fullmatch(currency):
        raise MalformedFields(f"currency {currency!r}")
    amount_text = (
        fields.get("mc_amount3")
        or fields.get("amount3")
        or fields.get("amount_per_cycle")
        or fields.get("mc_gross")
        or "0"
    )
    try:
        amount = abs(minor_units(amount_text, currency))
    except ValueError as error:
        raise MalformedFields(str(error)) from None
    period = (fields.get("period3") or fields.get("payment_cycle") or "1 M").split()[-1].upper()
    interval = PERIOD_INTERVAL.get(period, "month")
    email = email_of(fields.get("payer_email"))
    campaign = campaign_for(fields.get("custom"), fields.get("item_number"))
    now = utcnow()
    pledge = channel_books.mirrored_pledge(
        key, PAYPAL, campaign.id, email, amount, currency, interval
    )
    target = _status_for(txn_type)
    if txn_type in SIGNUPS and amount:
        pledge.amount_minor, pledge.currency, pledge.interval = amount, currency, interval
    current = PledgeStatus(pledge.status)
    # A cancelled pledge stays cancelled: a late signup or payment message does not revive it.
    live = current is not PledgeStatus.CANCELLED and target is not None
    if live and pledge.move_to(target, tx.actor):
        pledge.revision += 1
        if target is PledgeStatus.CANCELLED:
            pledge.cancelled_at = now
            pledge.cancel_reason = txn_type
        audit(tx.actor, f"pledge.{target.value}", key, channel=PAYPAL)
    tx.wrote = True
    tx.announce("ledger_changed", campaign_id=pledge.campaign_id)
    return pledge


def _status_for(txn_type: str) -> PledgeStatus | None:
    if txn_type in ENDINGS:
        return PledgeStatus.CANCELLED
    if txn_type in TROUBLE:
        return PledgeStatus.PAST_DUE
    return PledgeStatus.ACTIVE  # a signup or a payment: the pledge is live
