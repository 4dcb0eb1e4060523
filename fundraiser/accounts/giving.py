"""A supporter's giving: which ledger rows and pledges are theirs, history, receipts, statements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, update
from sqlalchemy.orm import joinedload

from fundraiser.extensions import db
from fundraiser.models import DonationIntent, EntryKind, LedgerEntry, Pledge, Supporter
from fundraiser.payments.gifts import GiftState, gift_state


def _owned_by(supporter: Supporter, supporter_col, email_col):
    """Rows linked to the supporter, plus rows with their email once it is verified.

    Before verification only rows made while signed in count: knowing someone's email
    must never reveal their giving.
    """
    conditions = [supporter_col == supporter.id]
    if supporter.is_verified and supporter.email:
        conditions.append(and_(email_col == supporter.email, supporter_col.is_(None)))
    return or_(*conditions)


def owned_entries_clause(supporter: Supporter):
    return _owned_by(supporter, LedgerEntry.supporter_id, LedgerEntry.donor_email)


def owned_pledges_clause(supporter: Supporter):
    return _owned_by(supporter, Pledge.supporter_id, Pledge.email)


def link_donations(supporter: Supporter) -> None:
    """Attach unclaimed gifts and pledges made with this (now verified) email to the account."""
    if not supporter.email:
        return
    for model, email_col in ((LedgerEntry, LedgerEntry.donor_email), (Pledge, Pledge.email)):
        db.session.execute(
            update(model)
            .where(email_col == supporter.email, model.supporter_id.is_(None))
            .values(supporter_id=supporter.id)
            .execution_options(synchronize_session=False)
        )


@dataclass
class Gift:
    """One payment and what happened to it afterwards (refunds, disputes)."""

    entry: LedgerEntry
    refunded_minor: int = 0
    #: What disputes hold now: opened less won back (positive).
    withdrawn_minor: int = 0
    dispute: str | None = None  # "opened", "won" or "lost"
    related: list[LedgerEntry] = field(default_factory=list)

    @property
    def state(self) -> GiftState:
        return gift_state(self.entry.amount_minor, self.refunded_minor, self.withdrawn_minor)

    @property
    def status(self) -> str:
        return self.state.status.value

    @property
    def kept_minor(self) -> int:
        """What the campaign kept: the payment less refunds and what disputes hold."""
        return self.state.kept_minor

    @property
    def recurring(self) -> bool:
        return self.entry.frequency != "one-time"


def _gifts(supporter: Supporter, *conditions) -> list[Gift]:
    payments = db.session.scalars(
        db.select(LedgerEntry)
        .options(joinedload(LedgerEntry.campaign))
        .where(owned_entries_clause(supporter), LedgerEntry.kind == EntryKind.PAYMENT.value)
        .where(*conditions)
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
    ).all()
    gifts = {entry.payment_ref: Gift(entry) for entry in payments}
    if not gifts:
        return []
    followers = db.session.scalars(
        db.select(LedgerEntry)
        .where(
            LedgerEntry.payment_ref.in_(list(gifts)),
            LedgerEntry.kind != EntryKind.PAYMENT.value,
        )
        .order_by(LedgerEntry.occurred_at, LedgerEntry.id)
    ).all()
    for row in followers:
        gift = gifts[row.payment_ref]
        gift.related.append(row)
        if row.kind == EntryKind.REFUND.value:
            gift.refunded_minor += -row.amount_minor
        elif row.kind.startswith("dispute_"):
            gift.dispute = row.kind.removeprefix("dispute_")
            gift.withdrawn_minor += -row.amount_minor
    return list(gifts.values())


def donation_history(supporter: Supporter) -> list[Gift]:
    return _gifts(supporter)


def gift_for(supporter: Supporter, entry_id: int) -> Gift | None:
    """The supporter's own payment with this id, or None (another's is never found)."""
    gifts = _gifts(supporter, LedgerEntry.id == entry_id)
    return gifts[0] if gifts else None


def reporting_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("REPORTING_TIMEZONE", "UTC"))


def local_date(moment: datetime) -> date:
    return moment.astimezone(reporting_zone()).date()


#: Years a statement may be asked for: none before any gift could exist, and the year after
#: the last one still has to be a date.
STATEMENT_YEARS = range(1970, 9999)


def statement_year_problem(year: int) -> str | None:
    """Why `year` cannot have a statement, or None when it can."""
    if year in STATEMENT_YEARS:
        return None
    first, last = STATEMENT_YEARS[0], STATEMENT_YEARS[-1]
    return _(
        "There are no statements for that year: choose a year between %(first)s and %(last)s.",
        first=first,
        last=last,
    )


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    zone = reporting_zone()
    start = datetime(year, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=zone).astimezone(UTC)
    return start, end


@dataclass
class Statement:
    year: int
    gifts: list[Gift]
    #: Currency -> what the campaigns kept of this year's gifts, in minor units.
    totals: dict[str, int]


def statement_years(supporter: Supporter) -> list[int]:
    return sorted(
        {local_date(g.entry.occurred_at).year for g in donation_history(supporter)}, reverse=True
    )


def yearly_statement(supporter: Supporter, year: int) -> Statement:
    start, end = _year_bounds(year)
    gifts = _gifts(supporter, LedgerEntry.occurred_at >= start, LedgerEntry.occurred_at < end)
    gifts.sort(key=lambda g: (g.entry.occurred_at, g.entry.id))
    totals: dict[str, int] = defaultdict(int)
    for gift in gifts:
        totals[gift.entry.currency] += gift.kept_minor
    return Statement(year, gifts, dict(sorted(totals.items())))


def pledges_for(supporter: Supporter) -> list[Pledge]:
    return list(
        db.session.scalars(
            db.select(Pledge)
            .options(joinedload(Pledge.campaign))
            .where(owned_pledges_clause(supporter))
            .order_by(Pledge.created_at.desc(), Pledge.id.desc())
        )
    )


def pledge_for(supporter: Supporter, pledge_id: int) -> Pledge | None:
    """The supporter's own pledge with this id, or None (another's is never found)."""
    return db.session.scalar(
        db.select(Pledge).where(Pledge.id == pledge_id, owned_pledges_clause(supporter))
    )


@dataclass(frozen=True)
class PledgeParts:
    """A pledge's payment split into the gift and the fee cover the supporter added."""

    gift_minor: int
    fee_cover_minor: int


def pledge_parts(pledge: Pledge) -> PledgeParts:
    """The gift and fee cover, while the payment is still the one chosen at checkout."""
    intent = db.session.get(DonationIntent, pledge.intent_id) if pledge.intent_id else None
    if intent is not None and intent.fee_cover_minor and intent.total_minor == pledge.amount_minor:
        return PledgeParts(intent.amount_minor, intent.fee_cover_minor)
    return PledgeParts(pledge.amount_minor, 0)


def _add_interval(day: date, interval: str, steps: int) -> date:
    months = day.month - 1 + steps * (12 if interval == "year" else 1)
    year, month = day.year + months // 12, months % 12 + 1
    for last in (31, 30, 29, 28):  # the same day of the month, or its last day
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


@dataclass(frozen=True)
class PauseSchedule:
    skipped: list[date]  # payments that will not be taken
    next_taken: date | None  # the first payment after the break


def pause_schedule(pledge: Pledge) -> PauseSchedule | None:
    """Which payment dates a paused pledge skips and when the next one is taken."""
    if pledge.status != "paused" or pledge.paused_until is None:
        return None
    until = local_date(pledge.paused_until)
    if pledge.next_payment_at is None:
        return PauseSchedule([], None)
    first = local_date(pledge.next_payment_at)
    skipped, step = [], 0
    while (due := _add_interval(first, pledge.interval, step)) < until and step < 40:
        skipped.append(due)
        step += 1
    return PauseSchedule(skipped, _add_interval(first, pledge.interval, step))
