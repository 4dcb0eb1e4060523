"""Donations as staff see them: one payment with its refunds and disputes, filtered and paged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from flask import current_app, get_template_attribute, url_for
from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.orm import aliased

from fundraiser.dashboard.channels import channel_column
from fundraiser.dashboard.periods import day_start
from fundraiser.dashboard.reports import DISPUTE_KINDS
from fundraiser.extensions import db
from fundraiser.models import (
    CHANNELS,
    AuditEntry,
    Campaign,
    DonationIntent,
    EntryKind,
    LedgerChannelTotal,
    LedgerEntry,
    LedgerTotal,
    Pledge,
    Supporter,
)
from fundraiser.money import CURRENCY_RULES, decimals, format_money
from fundraiser.payments.gifts import GiftState, GiftStatus, gift_state, status_sql

PAGE_SIZE = 50
STATUSES = tuple(status.value for status in GiftStatus)
FREQUENCIES = ("one-time", "monthly", "yearly")
#: The frequency filter's "any recurring" choice (monthly or yearly), used by the overview's links.
RECURRING = "recurring"
#: What a staff member types as an amount filter: major units, at most two decimals.
AMOUNT_TEXT = re.compile(r"^\d{1,12}(?:[.,]\d{1,3})?$")
REFUND_REQUESTED = "staff.refund"


@dataclass(frozen=True)
class DonationFilter:
    """What the donations table and its CSV export are narrowed to (all optional)."""

    campaign: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    frequency: str = ""
    currency: str = ""
    #: Major units as typed ("10", "12.50"), read in each donation's own currency.
    amount_min: str = ""
    amount_max: str = ""
    #: An email (or part of one), a donor's name, or any Stripe id.
    q: str = ""
    #: stripe, paypal, patreon or offline.
    channel: str = ""

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments, for links to other pages and the export."""
        values = {
            "campaign": self.campaign,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "status": self.status,
            "frequency": self.frequency,
            "currency": self.currency,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "q": self.q,
            "channel": self.channel,
        }
        return {key: value for key, value in values.items() if value}


#: Ledger rows that adjust a payment (refunds, dispute steps): the rows the partial index
#: ix_ledger_adjustments holds, so this condition must stay written exactly as its WHERE.
ADJUSTMENT = LedgerEntry.kind != EntryKind.PAYMENT.value


def _adjustments():
    """Per payment: what was refunded, withdrawn by disputes, and fees on those movements."""
    kind = LedgerEntry.kind
    return (
        select(
            LedgerEntry.payment_ref.label("payment_ref"),
            func.sum(
                case((kind == EntryKind.REFUND.value, -LedgerEntry.amount_minor), else_=0)
            ).label("refunded_minor"),
            func.sum(case((kind.in_(DISPUTE_KINDS), -LedgerEntry.amount_minor), else_=0)).label(
                "disputed_minor"
            ),
            func.sum(func.coalesce(LedgerEntry.fee_minor, 0)).label("fees_minor"),
        )
        .where(ADJUSTMENT)
        .group_by(LedgerEntry.payment_ref)
        .subquery("adjustments")
    )


def _adjustments_per_row() -> tuple:
    """The same three sums for the current payment row alone, each a lookup in
    ix_ledger_adjustments: for a page of 50 rows, not a pass over every adjustment."""
    moves = aliased(LedgerEntry, name="moves")
    kind = moves.kind

    def total(value, condition):
        return (
            select(func.coalesce(func.sum(value), 0))
            .where(moves.payment_ref == LedgerEntry.payment_ref, kind != EntryKind.PAYMENT.value)
            .where(condition)
            .scalar_subquery()
        )

    return (
        total(-moves.amount_minor, kind == EntryKind.REFUND.value),
        total(-moves.amount_minor, kind.in_(DISPUTE_KINDS)),
        total(func.coalesce(moves.fee_minor, 0), true()),
    )


def donation_select(donation_filter: DonationFilter, *, page: bool = False) -> Select:
    """One row per payment with its adjustments and status, filtered; newest first.

    A page (`page=True`) looks each row's adjustments up; a whole export joins them all at
    once, which is cheaper when every payment is read.
    """
    query, status = _unfiltered_select(page)
    return _apply_filter(query, donation_filter, status)


@cache
def _unfiltered_select(page: bool) -> tuple[Select, ColumnElement]:
    """`donation_select` before its filter, with its status expression; built once per process
    (statements are immutable, each filter makes a copy): building it, aliases and correlated
    subqueries included, cost the donations page more CPU than running it."""
    query = select().select_from(LedgerEntry)
    if page:
        refunded, disputed, other_fees = _adjustments_per_row()
    else:
        adjust = _adjustments()
        query = query.outerjoin(adjust, adjust.c.payment_ref == LedgerEntry.payment_ref)
        refunded = func.coalesce(adjust.c.refunded_minor, 0)
        disputed = func.coalesce(adjust.c.disputed_minor, 0)
        other_fees = func.coalesce(adjust.c.fees_minor, 0)
    fee = func.coalesce(LedgerEntry.fee_minor, 0)
    status = status_sql(LedgerEntry.amount_minor, refunded, disputed)
    query = (
        query.add_columns(
            LedgerEntry.id,
            LedgerEntry.payment_ref,
            LedgerEntry.occurred_at,
            Campaign.slug.label("campaign"),
            LedgerEntry.donor_email,
            LedgerEntry.donor_name,
            LedgerEntry.frequency,
            LedgerEntry.currency,
            LedgerEntry.amount_minor,
            fee.label("fee_minor"),
            refunded.label("refunded_minor"),
            disputed.label("disputed_minor"),
            (LedgerEntry.amount_minor - fee - refunded - disputed - other_fees).label("net_minor"),
            status.label("status"),
            LedgerEntry.charge_id,
            LedgerEntry.invoice_id,
            LedgerEntry.pledge_id,
            Pledge.stripe_subscription_id.label("subscription_id"),
            channel_column().label("channel"),
            # What the checkout said (none for gifts made at Stripe directly, e.g. renewals).
            DonationIntent.anonymous.label("anonymous"),
            DonationIntent.fee_cover_minor.label("fee_cover_minor"),
            DonationIntent.message.label("message"),
            Campaign.title.label("campaign_title"),
        )
        .join(Campaign, Campaign.id == LedgerEntry.campaign_id)
        .outerjoin(Pledge, Pledge.id == LedgerEntry.pledge_id)
        .outerjoin(DonationIntent, DonationIntent.id == LedgerEntry.intent_id)
        .where(LedgerEntry.kind == EntryKind.PAYMENT.value)
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
    )
    return query, status


def _apply_filter(query: Select, f: DonationFilter, status) -> Select:
    if f.campaign:
        query = query.where(Campaign.slug == f.campaign)
    if f.date_from:
        query = query.where(LedgerEntry.occurred_at >= day_start(f.date_from))
    if f.date_to:
        query = query.where(LedgerEntry.occurred_at < day_start(f.date_to + timedelta(days=1)))
    if f.status:
        query = query.where(status == f.status)
    if f.frequency == RECURRING:
        query = query.where(LedgerEntry.frequency != "one-time")
    elif f.frequency:
        query = query.where(LedgerEntry.frequency == f.frequency)
    if f.currency:
        query = query.where(LedgerEntry.currency == f.currency)
    if f.channel:
        query = query.where(LedgerEntry.channel == f.channel)
    if f.amount_min or f.amount_max:
        query = query.where(_amount_condition(f.amount_min, f.amount_max, f.currency))
    if f.q.strip():
        query = query.where(search_condition(f.q))
    return query


def minor_from_text(text: str, currency: str) -> int | None:
    """Major-unit text as minor units of `currency`; None if it has more decimals than that."""
    whole, _, fraction = text.replace(",", ".").partition(".")
    places = decimals(currency)
    if len(fraction) > places:
        return None
    return int(whole) * 10**places + int(fraction.ljust(places, "0") or 0)


def known_currencies() -> list[str]:
    configured = current_app.config.get("DONATION_CURRENCIES") or []
    return sorted({c.strip().upper() for c in configured if c.strip()} | set(CURRENCY_RULES))


@dataclass(frozen=True)
class OccurringValues:
    """What the donations filters offer: only values some ledger row has (read from the
    all-time roll-up, a handful of rows), so no choice leads to an empty table."""

    campaigns: list[tuple[str, str]]
    currencies: list[str]
    frequencies: list[str]
    #: Ledger channel values (stripe, paypal, …) in display order.
    channels: list[str]


def occurring_values() -> OccurringValues:
    found = db.session.execute(_occurring_select()).all()
    rows = [row for row in found if row.channel is None]
    campaigns = sorted({(slug, title) for slug, title, *_ in rows}, key=lambda c: c[1].lower())
    currencies = sorted({row.currency for row in rows})
    frequencies = [f for f in FREQUENCIES if any(row.frequency == f for row in rows)]
    found_channels = {row.channel for row in found if row.channel is not None}
    channels = [c for c in CHANNELS if c in found_channels]
    return OccurringValues(campaigns, currencies, frequencies, channels)


@cache
def _occurring_select():
    """Both roll-ups in one round trip (every donations page asks), built once: the channel
    rows are the ones with a channel, the others carry campaign, currency and frequency."""
    paid = (
        select(
            Campaign.slug,
            Campaign.title,
            LedgerTotal.currency,
            LedgerTotal.frequency,
            null().label("channel"),
        )
        .join(Campaign, Campaign.id == LedgerTotal.campaign_id)
        .where(LedgerTotal.kind == EntryKind.PAYMENT.value)
    )
    channels = select(null(), null(), null(), null(), LedgerChannelTotal.channel).where(
        LedgerChannelTotal.entries > 0
    )
    return union(paid, channels)


def _amount_condition(low: str, high: str, currency: str):
    """Amounts compare in each currency's own minor units (¥500 is not €5.00)."""
    currencies = [currency] if currency else known_currencies()
    branches = [_amount_range(low, high, code, LedgerEntry.currency == code) for code in currencies]
    if not currency:  # any other currency: read the amounts with two decimals
        others = LedgerEntry.currency.notin_(currencies)
        branches.append(_amount_range(low, high, "EUR", others))
    return or_(*branches)


def _amount_range(low: str, high: str, currency: str, in_currency):
    low_minor = minor_from_text(low, currency) if low else 0
    high_minor = minor_from_text(high, currency) if high else None
    if low_minor is None or (high and high_minor is None):
        return false()  # "12.50" can't be a JPY amount
    parts = [in_currency, LedgerEntry.amount_minor >= low_minor]
    if high_minor is not None:
        parts.append(LedgerEntry.amount_minor <= high_minor)
    return and_(*parts)


def search_condition(text: str):
    """Match an email (or part of one), a donor name, or any Stripe id we hold for a payment."""
    needle = text.strip()
    if "@" in needle:
        return LedgerEntry.donor_email.contains(needle.lower(), autoescape=True)
    by_movement = select(LedgerEntry.payment_ref).where(
        or_(
            LedgerEntry.stripe_ref == needle,
            LedgerEntry.stripe_ref.startswith(needle + ":", autoescape=True),  # dispute steps
            LedgerEntry.charge_id == needle,
            LedgerEntry.invoice_id == needle,
        )
    )
    by_pledge = select(Pledge.id).where(
        or_(Pledge.stripe_subscription_id == needle, Pledge.stripe_customer_id == needle)
    )
    by_intent = select(DonationIntent.id).where(
        or_(DonationIntent.checkout_session_id == needle, DonationIntent.customer_id == needle)
    )
    return or_(
        LedgerEntry.payment_ref == needle,
        LedgerEntry.payment_ref.in_(by_movement),
        LedgerEntry.pledge_id.in_(by_pledge),
        LedgerEntry.intent_id.in_(by_intent),
        func.lower(LedgerEntry.donor_name).contains(needle.lower(), autoescape=True),
    )


@dataclass(frozen=True)
class DonationPage:
    rows: list
    page: int
    has_next: bool


def donations_page(donation_filter: DonationFilter, page: int = 1) -> DonationPage:
    query = donation_select(donation_filter, page=True)
    query = query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    rows = db.session.execute(query).all()
    return DonationPage(rows[:PAGE_SIZE], page, len(rows) > PAGE_SIZE)


class RowCells(NamedTuple):
    """The cells of a table row that cost most when the template works them out row by row:
    the row's link, its status badge and its amounts (None where the table shows a dash)."""

    href: str
    badge: Markup
    amount: str
    fee_cover: str | None
    refunded: str | None
    net: str


def table_cells(rows: list) -> list[tuple]:
    """Each row of a page with its `RowCells`, worked out once per page: the link from one
    url_for, each status's badge from one call of its macro, each distinct amount formatted
    once (a page repeats the same few amounts and statuses)."""
    href = _link_maker("dashboard.donation", "payment_ref")
    badge = cache(get_template_attribute("dashboard/_macros.html", "status_badge"))
    money = cache(format_money)
    return [
        (
            row,
            RowCells(
                href(row.payment_ref),
                badge(row.status),
                money(row.amount_minor, row.currency),
                money(row.fee_cover_minor, row.currency) if row.fee_cover_minor else None,
                money(row.refunded_minor, row.currency) if row.refunded_minor else None,
                money(row.net_minor, row.currency),
            ),
        )
        for row in rows
    ]


def _link_maker(endpoint: str, argument: str) -> Callable[[str], str]:
    """`url_for(endpoint, argument=value)` for many values: the address is built once around a
    marker, and each value is quoted as the rule's (default) converter quotes it."""
    marker = "__value__"
    head, tail = url_for(endpoint, **{argument: marker}).split(marker)
    converter = current_app.url_map.converters["default"](current_app.url_map)
    return lambda value: head + converter.to_url(value) + tail


def iter_donations(donation_filter: DonationFilter, batch: int = 2000) -> Iterator:
    """Every matching row, fetched in batches so memory stays flat however many there are."""
    statement = donation_select(donation_filter).execution_options(yield_per=batch)
    yield from db.session.execute(statement)


# --- One donation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRefund:
    refund_id: str
    amount_minor: int
    reason: str
    actor: str
    requested_at: datetime


@dataclass
class DonationDetail:
    payment: LedgerEntry
    entries: list[LedgerEntry]
    pledge: Pledge | None
    intent: DonationIntent | None
    account: Supporter | None
    pending_refunds: list[PendingRefund] = field(default_factory=list)

    @property
    def refunded_minor(self) -> int:
        return -sum(e.amount_minor for e in self.entries if e.kind == EntryKind.REFUND.value)

    @property
    def disputed(self) -> bool:
        """A dispute holds the money now."""
        return self.state.status is GiftStatus.DISPUTED

    @property
    def pending_minor(self) -> int:
        return sum(p.amount_minor for p in self.pending_refunds)

    @property
    def withdrawn_minor(self) -> int:
        """What disputes hold now (opened less won back)."""
        return -sum(e.amount_minor for e in self.entries if e.kind in DISPUTE_KINDS)

    @property
    def state(self) -> GiftState:
        return gift_state(
            self.payment.amount_minor, self.refunded_minor, self.withdrawn_minor, self.pending_minor
        )

    @property
    def refundable_minor(self) -> int:
        return self.state.refundable_minor

    @property
    def status(self) -> str:
        return self.state.status.value

    @property
    def net_minor(self) -> int:
        return sum(e.amount_minor - (e.fee_minor or 0) for e in self.entries)

    @property
    def stripe_ids(self) -> list[tuple[str, str]]:
        """Every Stripe id we hold for this payment, labelled, without repeats."""
        found: list[tuple[str, str]] = []
        payment = self.payment
        candidates = [
            ("Payment intent", payment.payment_ref),
            ("Charge", payment.charge_id),
            ("Invoice", payment.invoice_id),
        ]
        if self.pledge:
            candidates += [
                ("Subscription", self.pledge.stripe_subscription_id),
                ("Customer", self.pledge.stripe_customer_id),
            ]
        if self.intent:
            candidates += [
                ("Checkout session", self.intent.checkout_session_id),
                ("Customer", self.intent.customer_id),
            ]
        for entry in self.entries:
            if entry.kind != EntryKind.PAYMENT.value:
                candidates.append((entry.kind.replace("_", " ").capitalize(), entry.stripe_ref))
        for label, value in candidates:
            if value and (label, value) not in found:
                found.append((label, value))
        return found


def donation_detail(payment_ref: str) -> DonationDetail | None:
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.payment_ref == payment_ref)
            .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
        )
    )
    payment = next((e for e in entries if e.kind == EntryKind.PAYMENT.value), None)
    if payment is None:
        return None
    pledge = db.session.get(Pledge, payment.pledge_id) if payment.pledge_id else None
    intent = db.session.get(DonationIntent, payment.intent_id) if payment.intent_id else None
    detail = DonationDetail(payment, entries, pledge, intent, _account_for(payment))
    detail.pending_refunds = _pending_refunds(payment_ref, {e.stripe_ref for e in entries})
    return detail


def _account_for(payment: LedgerEntry) -> Supporter | None:
    if payment.supporter_id:
        return db.session.get(Supporter, payment.supporter_id)
    if payment.donor_email:
        return db.session.scalar(select(Supporter).where(Supporter.email == payment.donor_email))
    return None


def refund_target(payment_ref: str) -> str:
    return f"payment:{payment_ref}"


def _pending_refunds(payment_ref: str, recorded: set[str]) -> list[PendingRefund]:
    """Refunds staff asked Stripe for whose confirming webhook has not reached the ledger yet."""
    requests = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == REFUND_REQUESTED)
        .where(AuditEntry.target == refund_target(payment_ref))
        .order_by(AuditEntry.created_at)
    )
    pending = []
    for entry in requests:
        try:
            detail = json.loads(entry.detail or "{}")
        except ValueError:
            continue
        refund_id = str(detail.get("refund_id") or "")
        if refund_id and refund_id not in recorded:
            pending.append(
                PendingRefund(
                    refund_id,
                    int(detail.get("amount_minor") or 0),
                    str(detail.get("reason") or ""),
                    entry.actor,
                    entry.created_at,
                )
            )
    return pending
