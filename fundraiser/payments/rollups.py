"""Keeping the ledger's roll-ups (fundraiser.models.rollup) in step with the ledger.

`add_entry` is called by the books right after each ledger row is inserted, in the same
transaction, so a roll-up can never count a row the ledger does not hold (or miss one).
Each roll-up row is an atomic upsert (`… ON CONFLICT DO UPDATE SET n = n + excluded.n`),
so concurrent writers never lose an increment. `rebuild` recomputes everything from the
ledger, for repairs and after bulk loads.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import (
    Integer,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
)

from fundraiser.database import dialect_insert, insert_if_absent
from fundraiser.extensions import db
from fundraiser.models import (
    Campaign,
    Channel,
    EntryKind,
    LedgerChannelTotal,
    LedgerDonor,
    LedgerDonorKey,
    LedgerEntry,
    LedgerGiftAmount,
    LedgerQuarterChannel,
    LedgerQuarterHour,
    LedgerTotal,
)
from fundraiser.models.rollup import ANY_CURRENCY, QUARTER_SECONDS, quarter_of

if TYPE_CHECKING:
    from fundraiser.payments.ledger import Transaction

ROLLUPS = (
    LedgerTotal,
    LedgerQuarterHour,
    LedgerDonor,
    LedgerDonorKey,
    LedgerGiftAmount,
    LedgerChannelTotal,
    LedgerQuarterChannel,
)
SUMS = ("entries", "amount_minor", "fee_minor")


def add_entry(values: Mapping) -> None:
    """Count one just-inserted ledger row (the values given to its INSERT) in every roll-up."""
    group = {
        "campaign_id": values["campaign_id"],
        "currency": values["currency"],
        "kind": values["kind"],
        "frequency": values["frequency"],
    }
    sums = {
        "entries": 1,
        "amount_minor": values["amount_minor"],
        "fee_minor": values.get("fee_minor") or 0,
    }
    settled = values.get("settled_amount_minor")
    settlement = {"settled_minor": settled or 0, "unsettled": int(settled is None)}
    _increment(LedgerTotal, group, {**sums, **settlement})
    _increment(LedgerQuarterHour, {**group, "quarter": quarter_of(values["occurred_at"])}, sums)
    by_channel = {
        "campaign_id": values["campaign_id"],
        "channel": values.get("channel") or Channel.STRIPE.value,
        "currency": values["currency"],
    }
    _increment(
        LedgerChannelTotal, by_channel, {"entries": 1, "amount_minor": values["amount_minor"]}
    )
    per_quarter = {
        "quarter": quarter_of(values["occurred_at"]),
        "channel": by_channel["channel"],
        "currency": values["currency"],
        "kind": values["kind"],
    }
    _increment(
        LedgerQuarterChannel,
        per_quarter,
        {"entries": 1, "amount_minor": values["amount_minor"], **settlement},
    )
    kind = values["kind"]
    if kind not in KEPT_KINDS:
        return
    per_currency = {"campaign_id": values["campaign_id"], "currency": values["currency"]}
    donor = values.get("donor_email") or values["payment_ref"]
    kept = _add_kept(LedgerDonor, {**per_currency, "donor_key": donor}, values["amount_minor"])
    if kind != EntryKind.PAYMENT.value:
        return
    if kept == values["amount_minor"]:
        # New to this campaign and currency (or every earlier gift was refunded); perhaps
        # new to the currency, or to us altogether.
        for currency in (values["currency"], ANY_CURRENCY):
            row = {"currency": currency, "donor_key": donor}
            insert_if_absent(LedgerDonorKey, row, _key_of(LedgerDonorKey))
    amount = {**per_currency, "amount_minor": values["amount_minor"]}
    _increment(LedgerGiftAmount, amount, {"payments": 1})


def add_fee(values: Mapping, fee_minor: int, settled_minor: int | None = None) -> None:
    """Count a fee (and the settled amount) filled in later on a ledger row already counted
    (values: its group columns and occurred_at, as in add_entry)."""
    group = {key: values[key] for key in ("campaign_id", "currency", "kind", "frequency")}
    sums = {"entries": 0, "amount_minor": 0, "fee_minor": fee_minor}
    settlement = {"settled_minor": settled_minor or 0, "unsettled": -int(settled_minor is not None)}
    _increment(LedgerTotal, group, {**sums, **settlement})
    _increment(LedgerQuarterHour, {**group, "quarter": quarter_of(values["occurred_at"])}, sums)
    per_quarter = {
        "quarter": quarter_of(values["occurred_at"]),
        "channel": values.get("channel") or Channel.STRIPE.value,
        "currency": values["currency"],
        "kind": values["kind"],
    }
    _increment(LedgerQuarterChannel, per_quarter, {"entries": 0, "amount_minor": 0, **settlement})


#: The kinds a donor's kept amount counts: a donor whose gifts were all refunded is no
#: longer a supporter (a dispute is the bank's doing, not the donor's choice to leave).
KEPT_KINDS = (EntryKind.PAYMENT.value, EntryKind.REFUND.value)


def _add_kept(model, key: dict, amount_minor: int) -> int:
    """Add to a donor row's kept amount (creating the row); returns the new kept amount."""
    dialect = db.session.get_bind().dialect.name
    statement = _kept_statement(model, dialect, tuple(key))
    return db.session.connection().execute(statement, {**key, "kept_minor": amount_minor}).scalar()


@functools.cache
def _kept_statement(model, dialect: str, key: tuple):
    statement = dialect_insert(model, dialect).values(
        {column: bindparam(column) for column in (*key, "kept_minor")}
    )
    return statement.on_conflict_do_update(
        index_elements=_key_of(model),
        set_={"kept_minor": model.kept_minor + statement.excluded.kept_minor},
    ).returning(model.kept_minor)


def _key_of(model) -> list[str]:
    return [column.name for column in model.__table__.primary_key.columns]


def _increment(model, key: dict, increments: dict) -> None:
    dialect = db.session.get_bind().dialect.name
    statement = _increment_statement(model, dialect, tuple(key), tuple(increments))
    db.session.connection().execute(statement, {**key, **increments})  # see insert_if_absent


@functools.cache
def _increment_statement(model, dialect: str, key: tuple, increments: tuple):
    """Built once per shape with bound parameters: SQLAlchemy then finds it compiled at once
    (a new statement per call cost more Python time than the database spent on it)."""
    statement = dialect_insert(model, dialect).values(
        {column: bindparam(column) for column in (*key, *increments)}
    )
    return statement.on_conflict_do_update(
        index_elements=_key_of(model),
        set_={name: getattr(model, name) + statement.excluded[name] for name in increments},
    )


# --- Erasure ---------------------------------------------------------------------------------


def donor_emails(entries) -> list[str]:
    """The donor emails on the ledger rows `entries` (a WHERE clause) selects."""
    query = select(LedgerEntry.donor_email).where(entries, LedgerEntry.donor_email.is_not(None))
    return list(db.session.scalars(query.distinct()))


def rekey_donors(emails: Iterable[str], erased) -> None:
    """After donor emails were erased from the ledger rows `erased` selects: no donor row keeps
    those emails, and each payment is counted by what the ledger now holds (its email if
    other rows still have it, else its payment_ref)."""
    emails = list(emails)
    if emails:
        for model in (LedgerDonor, LedgerDonorKey):
            db.session.execute(delete(model).where(model.donor_key.in_(emails)))
    rows = LedgerEntry.donor_email.in_(emails) | erased if emails else erased
    _insert_donors(rows, skip_existing=True)


# --- Rebuilding from the ledger -----------------------------------------------------------------


@dataclass(frozen=True)
class RebuildCounts:
    totals: int
    quarter_hours: int
    donors: int
    donor_keys: int
    gift_amounts: int
    channel_totals: int
    quarter_channels: int


def rebuild(tx: Transaction | None = None) -> RebuildCounts:
    """Empty the roll-ups and recompute them from the ledger with INSERT … SELECT.

    On PostgreSQL the ledger is locked against writers meanwhile (SHARE mode: readers go on),
    so a payment landing during the rebuild is counted exactly once; SQLite has one writer.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE ledger_entries IN SHARE MODE"))
    for model in ROLLUPS:
        db.session.execute(delete(model))
    group = [
        LedgerEntry.campaign_id,
        LedgerEntry.currency,
        LedgerEntry.kind,
        LedgerEntry.frequency,
    ]
    names = ["campaign_id", "currency", "kind", "frequency"]
    settled = LedgerEntry.settled_amount_minor
    settlement = [
        func.coalesce(func.sum(settled), 0),
        func.sum(case((settled.is_(None), 1), else_=0)),
    ]
    _insert_sums(LedgerTotal, names, group, ["settled_minor", "unsettled"], settlement)
    _insert_sums(LedgerQuarterHour, ["quarter", *names], [_quarter_expression(), *group])
    per_channel = [LedgerEntry.campaign_id, LedgerEntry.channel, LedgerEntry.currency]
    db.session.execute(
        insert(LedgerChannelTotal).from_select(
            ["campaign_id", "channel", "currency", "entries", "amount_minor"],
            select(*per_channel, func.count(), func.sum(LedgerEntry.amount_minor)).group_by(
                *per_channel
            ),
        )
    )
    per_quarter = [_quarter_expression(), LedgerEntry.channel, LedgerEntry.currency]
    per_quarter.append(LedgerEntry.kind)
    db.session.execute(
        insert(LedgerQuarterChannel).from_select(
            [
                "quarter",
                "channel",
                "currency",
                "kind",
                "entries",
                "amount_minor",
                "settled_minor",
                "unsettled",
            ],
            select(
                *per_quarter, func.count(), func.sum(LedgerEntry.amount_minor), *settlement
            ).group_by(*per_quarter),
        )  # fmt: skip
    )
    _insert_donors(true(), skip_existing=False)
    amount = [LedgerEntry.campaign_id, LedgerEntry.currency, LedgerEntry.amount_minor]
    db.session.execute(
        insert(LedgerGiftAmount).from_select(
            ["campaign_id", "currency", "amount_minor", "payments"],
            select(*amount, func.count())
            .where(LedgerEntry.kind == EntryKind.PAYMENT.value)
            .group_by(*amount),
        )
    )
    if tx is not None:  # every campaign's cached figures may be old now
        announce_every_campaign(tx)
    return RebuildCounts(*(_count(model) for model in ROLLUPS))


def announce_every_campaign(tx: Transaction) -> None:
    """Every campaign's cached figures are old once this change commits."""
    for campaign_id in db.session.scalars(select(Campaign.id)):
        tx.announce("ledger_changed", campaign_id=campaign_id)


def snapshot() -> dict[str, set[tuple]]:
    """Every roll-up row, per table (to compare before and after a rebuild)."""
    return {
        model.__tablename__: {tuple(row) for row in db.session.execute(select(model.__table__))}
        for model in ROLLUPS
    }


def differing_rows(before: dict[str, set[tuple]], after: dict[str, set[tuple]]) -> dict[str, int]:
    """Per table, rows in one snapshot and not the other (a changed row counts twice)."""
    return {table: len(before[table] ^ after[table]) for table in before}


def _quarter_expression():
    """LedgerEntry.occurred_at as a quarter number, in SQL (as quarter_of does in Python).

    The width is written into the SQL, not bound: GROUP BY must repeat the expression
    exactly, and PostgreSQL does not match two different parameters as the same.
    """
    width = literal_column(str(QUARTER_SECONDS))
    if db.session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", LedgerEntry.occurred_at)
        return cast(func.floor(seconds / width), Integer)
    # SQLite keeps UTC text ("2026-03-10 18:14:59.999999"); %s reads it as Unix seconds but
    # rounds the fraction to milliseconds (18:15:00), so only the whole seconds are read.
    whole_seconds = func.substr(LedgerEntry.occurred_at, 1, 19)
    return cast(func.strftime(literal_column("'%s'"), whole_seconds), Integer) // width


def _insert_sums(
    model, names: list[str], group: list, more_names: list[str] = (), more_sums: list = ()
) -> None:
    sums = [
        func.count(),
        func.sum(LedgerEntry.amount_minor),
        func.sum(func.coalesce(LedgerEntry.fee_minor, 0)),
        *more_sums,
    ]
    query = select(*group, *sums).group_by(*group)
    db.session.execute(insert(model).from_select([*names, *SUMS, *more_names], query))


def _insert_donors(rows, skip_existing: bool) -> None:
    """Donor rows for the payments `rows` selects, in both donor roll-ups."""
    key = func.coalesce(LedgerEntry.donor_email, LedgerEntry.payment_ref)
    payments = (LedgerEntry.kind == EntryKind.PAYMENT.value) & rows
    any_currency = literal_column(f"'{ANY_CURRENCY}'")
    per_campaign = [LedgerEntry.campaign_id, LedgerEntry.currency, key]
    kept = (
        select(*per_campaign, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.kind.in_(KEPT_KINDS) & rows)
        .group_by(*per_campaign)
    )
    inserts = [
        (LedgerDonor, [*_key_of(LedgerDonor), "kept_minor"], kept),
        (LedgerDonorKey, _key_of(LedgerDonorKey), select(LedgerEntry.currency, key)),
        (LedgerDonorKey, _key_of(LedgerDonorKey), select(any_currency, key)),
    ]
    for model, names, query in inserts:
        if model is LedgerDonorKey:
            query = query.where(payments).distinct()
        statement = dialect_insert(model).from_select(names, query)
        if skip_existing:
            statement = statement.on_conflict_do_nothing(index_elements=_key_of(model))
        db.session.execute(statement)


def _count(model) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)))
