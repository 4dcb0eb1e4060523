"""Supporters as staff see them: everyone who gave, by email, with totals per currency."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased

from fundraiser.dashboard.reports import DISPUTE_KINDS, sum_if
from fundraiser.extensions import db
from fundraiser.models import EntryKind, LedgerEntry, Pledge, PledgeStatus, Supporter

PAGE_SIZE = 50
LIVE_PLEDGE_STATUSES = (
    PledgeStatus.ACTIVE.value,
    PledgeStatus.PAST_DUE.value,
    PledgeStatus.PAUSED.value,
)

# Refunds and disputes count towards the donor of the payment they belong to.
_payment = aliased(LedgerEntry, name="payment")


def _donor_email():
    return func.coalesce(_payment.donor_email, LedgerEntry.donor_email)


def _ledger_with_donor() -> Select:
    return (
        select()
        .select_from(LedgerEntry)
        .outerjoin(
            _payment,
            and_(
                _payment.payment_ref == LedgerEntry.payment_ref,
                _payment.kind == EntryKind.PAYMENT.value,
            ),
        )
    )


def _search(query: Select, text: str) -> Select:
    needle = (text or "").strip().lower()
    if not needle:
        return query
    return query.where(
        or_(
            _donor_email().contains(needle, autoescape=True),
            func.lower(LedgerEntry.donor_name).contains(needle, autoescape=True),
        )
    )


def _money_columns() -> list:
    kind = LedgerEntry.kind
    amount = LedgerEntry.amount_minor

    return [
        sum_if(kind == EntryKind.PAYMENT.value, amount).label("gross_minor"),
        sum_if(kind == EntryKind.REFUND.value, -amount).label("refunds_minor"),
        sum_if(kind.in_(DISPUTE_KINDS), -amount).label("disputes_minor"),
        func.coalesce(func.sum(func.coalesce(LedgerEntry.fee_minor, 0)), 0).label("fees_minor"),
        sum_if(kind == EntryKind.PAYMENT.value, 1).label("gifts"),
        func.min(case((kind == EntryKind.PAYMENT.value, LedgerEntry.occurred_at))).label(
            "first_gift_at"
        ),
        func.max(case((kind == EntryKind.PAYMENT.value, LedgerEntry.occurred_at))).label(
            "last_gift_at"
        ),
    ]


@dataclass
class SupporterRow:
    email: str | None
    name: str
    gifts: int
    first_gift_at: datetime | None
    last_gift_at: datetime | None
    #: {currency: (gross, net)} in minor units; never summed across currencies.
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    account: Supporter | None = None
    live_pledges: int = 0


@dataclass(frozen=True)
class SupporterPage:
    rows: list[SupporterRow]
    page: int
    has_next: bool


def supporters_page(text: str = "", page: int = 1) -> SupporterPage:
    """One row per donor email, most recent giver first, with per-currency totals."""
    email = _donor_email().label("email")
    query = _search(
        _ledger_with_donor().add_columns(
            email,
            func.max(LedgerEntry.donor_name).label("name"),
            *_money_columns()[4:],
        ),
        text,
    )
    query = (
        query.group_by(_donor_email())
        .order_by(func.max(LedgerEntry.occurred_at).desc(), _donor_email())
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    )
    found = db.session.execute(query).all()
    rows = [
        SupporterRow(r.email, r.name or "", int(r.gifts), r.first_gift_at, r.last_gift_at)
        for r in found[:PAGE_SIZE]
    ]
    _add_totals(rows)
    _add_accounts_and_pledges(rows)
    return SupporterPage(rows, page, len(found) > PAGE_SIZE)


def _add_totals(rows: list[SupporterRow]) -> None:
    emails = [r.email for r in rows if r.email]
    if not emails:
        return
    money = _money_columns()
    query = (
        _ledger_with_donor()
        .add_columns(_donor_email().label("email"), LedgerEntry.currency, *money[:4])
        .where(_donor_email().in_(emails))
        .group_by(_donor_email(), LedgerEntry.currency)
    )
    by_email = {r.email: r for r in rows}
    for row in db.session.execute(query):
        net = row.gross_minor - row.refunds_minor - row.disputes_minor - row.fees_minor
        by_email[row.email].totals[row.currency] = (int(row.gross_minor), int(net))


def _add_accounts_and_pledges(rows: list[SupporterRow]) -> None:
    emails = [r.email for r in rows if r.email]
    if not emails:
        return
    accounts = {
        a.email: a for a in db.session.scalars(select(Supporter).where(Supporter.email.in_(emails)))
    }
    pledges = dict(
        db.session.execute(
            select(Pledge.email, func.count())
            .where(Pledge.email.in_(emails), Pledge.status.in_(LIVE_PLEDGE_STATUSES))
            .group_by(Pledge.email)
        ).all()
    )
    for row in rows:
        row.account = accounts.get(row.email)
        row.live_pledges = int(pledges.get(row.email, 0))


def supporter_export_select(text: str = "") -> Select:
    """One row per donor email and currency: the stable layout of the supporters CSV."""
    live_pledges = (
        select(Pledge.email.label("email"), func.count().label("live_pledges"))
        .where(Pledge.status.in_(LIVE_PLEDGE_STATUSES))
        .group_by(Pledge.email)
        .subquery("live_pledges")
    )
    grouped = (
        _search(
            _ledger_with_donor().add_columns(
                _donor_email().label("email"),
                func.max(LedgerEntry.donor_name).label("name"),
                LedgerEntry.currency.label("currency"),
                *_money_columns(),
            ),
            text,
        )
        .group_by(_donor_email(), LedgerEntry.currency)
        .subquery("per_currency")
    )
    return (
        select(
            grouped,
            Supporter.id.label("account_id"),
            Supporter.show_publicly,
            func.coalesce(live_pledges.c.live_pledges, 0).label("live_pledges"),
        )
        .outerjoin(Supporter, Supporter.email == grouped.c.email)
        .outerjoin(live_pledges, live_pledges.c.email == grouped.c.email)
        .order_by(grouped.c.email, grouped.c.currency)
    )


def iter_supporters(text: str = "", batch: int = 2000) -> Iterator:
    statement = supporter_export_select(text).execution_options(yield_per=batch)
    yield from db.session.execute(statement)


@dataclass
class SupporterDetail:
    email: str
    account: Supporter | None
    entries: list[LedgerEntry]
    pledges: list[Pledge]
    totals: dict[str, tuple[int, int]]


def supporter_detail(email: str) -> SupporterDetail | None:
    email = email.strip().lower()
    payment_refs = select(LedgerEntry.payment_ref).where(
        LedgerEntry.donor_email == email, LedgerEntry.kind == EntryKind.PAYMENT.value
    )
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(or_(LedgerEntry.donor_email == email, LedgerEntry.payment_ref.in_(payment_refs)))
            .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
        )
    )
    account = db.session.scalar(select(Supporter).where(Supporter.email == email))
    theirs = Pledge.email == email
    if account is not None:
        theirs = or_(theirs, Pledge.supporter_id == account.id)
    newest_first = select(Pledge).where(theirs).order_by(Pledge.created_at.desc())
    pledges = list(db.session.scalars(newest_first))
    if not entries and not pledges and account is None:
        return None
    totals: dict[str, tuple[int, int]] = {}
    for entry in entries:
        gross, net = totals.get(entry.currency, (0, 0))
        if entry.kind == EntryKind.PAYMENT.value:
            gross += entry.amount_minor
        totals[entry.currency] = (gross, net + entry.net_minor)
    return SupporterDetail(email, account, entries, pledges, totals)
