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
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
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
from sqlalchemy.dialects import postgresql

from fundraiser.audit import write_entry as write_audit_entry
from fundraiser.database import dialect_insert, insert_if_absent, insert_new, run
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
    LedgerSupporter,
    LedgerSupporterCount,
    LedgerTotal,
    utcnow,
)
from fundraiser.models.rollup import ANY_CURRENCY, QUARTER_SECONDS, quarter_of
from fundraiser.payments.lookups import verified_supporter_id

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
    LedgerSupporter,
    LedgerSupporterCount,
)
SUMS = ("entries", "amount_minor", "fee_minor")


def insert_entry(
    values: Mapping, audit: Mapping | None = None, find_supporter: bool = False
) -> int | None:
    """Insert a ledger row (the column values) unless its stripe_ref is booked, and count it
    in every roll-up: its new id, or None when the row was there already. With it, if it is
    new: the `audit` entry (audit.entry's columns), and with `find_supporter` the row's
    supporter_id is the verified supporter with its donor_email (lookups.verified_supporter_id).

    On PostgreSQL all this is one statement: the INSERT and the other writes as data-modifying
    CTEs, each fed by the one before it, so the roll-up rows are locked in the order add_entry
    takes (no deadlock with a writer going through it), and nothing else is written if the
    row was there. Elsewhere (SQLite) one statement each, add_entry's.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        if find_supporter:
            values = {**values, "supporter_id": verified_supporter_id(values.get("donor_email"))}
        entry_id = insert_new(LedgerEntry, values, ["stripe_ref"], "id")
        if entry_id is not None:
            add_entry(values)
            if audit is not None:
                write_audit_entry(audit)
        return entry_id
    counts = _counts(values)
    params = _with_defaults(values)
    columns = tuple(params)
    _converted(params, columns)
    for _model, key, sums in counts:
        # A column's value is the same in every roll-up that has it (see _counts).
        params.update(
            {f"n_{name}": value for name, value in {**key, **sums}.items() if name not in _GIVEN}
        )
    params.update({f"a_{name}": value for name, value in (audit or {}).items()})
    shapes = tuple((model, tuple(key), tuple(sums)) for model, key, sums in counts)
    statement = _counted_insert(
        columns, shapes, _new_donor_possible(values), audit is not None, find_supporter
    )
    return run(statement, params).scalar()  # pending audit entries flushed first: lower ids


def _with_defaults(values: Mapping) -> dict:
    """The row with LedgerEntry's Python-side defaults filled in: SQLAlchemy applies them
    to a plain INSERT, not to one inside a CTE."""
    return {
        "channel": Channel.STRIPE.value,
        "external_id": values["stripe_ref"],
        "donor_name": "",
        "created_at": utcnow(),
        **values,
    }


def add_entry(values: Mapping) -> None:
    """Count one just-inserted ledger row (the values given to its INSERT) in every roll-up."""
    kept = None
    for model, key, sums in _counts(values):
        total = _increment(model, key, sums, returning=model is LedgerDonor)
        kept = total if model is LedgerDonor else kept
    if kept is None:
        return
    change = _supporter_change(kept, values["amount_minor"])
    if change:
        campaign = {"campaign_id": values["campaign_id"]}
        supporter = {**campaign, "donor_key": _donor_key(values)}
        currencies = _increment(LedgerSupporter, supporter, {"currencies": change}, True)
        if currencies == (1 if change > 0 else 0):  # their first currency, or their last gone
            _increment(LedgerSupporterCount, campaign, {"supporters": change})
    if _new_donor(values, kept):
        # New to this campaign and currency (or every earlier gift was refunded); perhaps
        # new to the currency, or to us altogether.
        for currency in (values["currency"], ANY_CURRENCY):
            row = {"currency": currency, "donor_key": _donor_key(values)}
            insert_if_absent(LedgerDonorKey, row, _key_of(LedgerDonorKey))


def _counts(values: Mapping) -> list[tuple[type, dict, dict]]:
    """The roll-up rows a ledger row adds to, as (model, key, sums to add), in lock order;
    then the donor keys, if _new_donor says so."""
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
    quarter = quarter_of(values["occurred_at"])
    channel = values.get("channel") or Channel.STRIPE.value
    counts = [
        (LedgerTotal, group, {**sums, **settlement}),
        (LedgerQuarterHour, {**group, "quarter": quarter}, sums),
        (
            LedgerChannelTotal,
            {
                "campaign_id": values["campaign_id"],
                "channel": channel,
                "currency": values["currency"],
            },
            {"entries": 1, "amount_minor": values["amount_minor"]},
        ),
        (
            LedgerQuarterChannel,
            {
                "quarter": quarter,
                "channel": channel,
                "currency": values["currency"],
                "kind": values["kind"],
            },
            {"entries": 1, "amount_minor": values["amount_minor"], **settlement},
        ),
    ]
    kind = values["kind"]
    if kind not in KEPT_KINDS:
        return counts
    per_currency = {"campaign_id": values["campaign_id"], "currency": values["currency"]}
    donor = {**per_currency, "donor_key": _donor_key(values)}
    counts.append((LedgerDonor, donor, {"kept_minor": values["amount_minor"]}))
    if kind == EntryKind.PAYMENT.value:
        amount = {**per_currency, "amount_minor": values["amount_minor"]}
        counts.append((LedgerGiftAmount, amount, {"payments": 1}))
    return counts


def _donor_key(values: Mapping) -> str:
    return values.get("donor_email") or values["payment_ref"]


def _new_donor_possible(values: Mapping) -> bool:
    return values["kind"] == EntryKind.PAYMENT.value


def _supporter_change(kept: int, added: int) -> int:
    """1 when a donor's kept amount in a currency (LedgerDonor.kept_minor, `kept` after
    `added`) rose above 0, -1 when it fell to 0 or below, else 0: the change to their
    LedgerSupporter.currencies."""
    return int(kept > 0) - int(kept - added > 0)


def _new_donor(values: Mapping, kept: int) -> bool:
    """A payment after which the donor's kept amount is this payment alone."""
    return values["kind"] == EntryKind.PAYMENT.value and kept == values["amount_minor"]


_POSTGRESQL = postgresql.psycopg.dialect()


@functools.cache
def _counted_insert(
    columns: tuple, shapes: tuple, donor_keys: bool, audited: bool, find_supporter: bool
):
    """insert_entry's statement for one shape, built once: the INSERT … RETURNING id, then
    one upsert per roll-up row selecting its values FROM the CTE before it (so it writes
    only once that one has), then as in add_entry: the supporter rows when the donor's kept
    amount crossed 0 (s; u when their first currency came or their last went), the donor
    keys when the kept amount after the upsert is this payment's amount (k, after u: the
    order add_entry takes), and the audit entry.

    Written out rather than built with SQLAlchemy's constructs, which name and cast every
    value: psycopg parses a statement over 4096 characters (or 50 parameters) anew on every
    call and never prepares it. Only our tables' and columns' names are written into it."""
    names, row = list(columns), [f":{name}" for name in columns]
    if find_supporter:
        names.append("supporter_id")
        row.append(
            "(SELECT id FROM supporters WHERE email=CAST(:donor_email AS VARCHAR)"
            " AND email_verified_at IS NOT NULL)"
        )
    insert = f"INSERT INTO ledger_entries ({','.join(names)}) VALUES ({','.join(row)})"  # noqa: S608
    ctes = [f"e AS ({insert} ON CONFLICT (stripe_ref) DO NOTHING RETURNING id)"]
    previous, donors = "e", None
    for number, (model, key, sums) in enumerate(shapes):
        cte = f"c{number}"
        ctes.append(f"{cte} AS ({_add_to(model, key, sums, previous)})")
        previous, donors = cte, cte if model is LedgerDonor else donors
    if donors is not None:
        ctes.extend(_supporter_ctes(previous, donors))
    if donor_keys:
        # k reads all of u (its count) before its first row, u all of s and s the CTE before
        # it: their locks come first, as in add_entry.
        ctes.append(
            "k AS (INSERT INTO ledger_donor_keys (currency,donor_key)"  # noqa: S608 - see above
            f" SELECT v.c,:n_donor_key FROM {donors},(SELECT count(*) FROM u)w,"
            f"(VALUES (:currency),('{ANY_CURRENCY}'))v(c)"
            f" WHERE {donors}.n=:amount_minor ON CONFLICT DO NOTHING)"
        )
    if audited:
        audit = ("actor", "action", "target", "detail", "created_at")
        ctes.append(
            f"a AS (INSERT INTO audit_log ({','.join(audit)})"  # noqa: S608 - see above
            f" SELECT {_params(audit, 'a_')} FROM {previous})"
        )
    # No types: PostgreSQL takes the values' types from the columns they go to, and the
    # few values SQLAlchemy would convert (timestamps) are converted by _converted; a typed
    # value would be cast in the SQL, longer.
    return text(f"WITH {','.join(ctes)} SELECT id FROM e")  # noqa: S608


@functools.cache
def _converters(columns: tuple) -> tuple:
    """(name, SQLAlchemy's bind processor) of the ledger columns among `columns` that have
    one on PostgreSQL (UTCDateTime: refuses a naive timestamp, converts to UTC)."""
    table = LedgerEntry.__table__.c
    processors = ((name, table[name].type.bind_processor(_POSTGRESQL)) for name in columns)
    return tuple((name, process) for name, process in processors if process is not None)


def _converted(params: dict, columns: tuple) -> dict:
    """The values of `columns` in `params` as SQLAlchemy would send them to the driver."""
    for name, process in _converters(columns):
        params[name] = process(params[name])
    return params


def _supporter_ctes(previous: str, donors: str) -> list[str]:
    """add_entry's supporter upserts as CTEs after `previous`; `donors` is the CTE returning
    the donor's new kept amount as n (no rows, and no writes, unless it crossed 0). Only
    CTE names are written into the SQL (see _counted_insert)."""
    sources = previous if previous == donors else f"{previous},{donors}"
    up = f"({donors}.n>0)"
    return [
        # +1 or -1 (2*up-1) when the kept amount crossed 0 (up differs from before the gift).
        "s AS (INSERT INTO ledger_supporters AS t (campaign_id,donor_key,currencies)"  # noqa: S608
        f" SELECT :campaign_id,:n_donor_key,2*{up}::int-1 FROM {sources}"
        f" WHERE {up}<>({donors}.n>:amount_minor) ON CONFLICT (campaign_id,donor_key)"
        " DO UPDATE SET currencies=t.currencies+excluded.currencies RETURNING t.currencies AS n)",
        # Their first currency (1 after +1) or their last gone (0 after -1): 2n-1 is the change.
        "u AS (INSERT INTO ledger_supporter_counts AS t (campaign_id,supporters)"  # noqa: S608
        f" SELECT :campaign_id,2*s.n-1 FROM s,{donors} WHERE s.n={up}::int"
        " ON CONFLICT (campaign_id) DO UPDATE SET supporters=t.supporters+excluded.supporters"
        " RETURNING 1)",
    ]


#: Roll-up values _counts always takes from the ledger row (the row's own parameter, or 1
#: for the row itself), written so rather than as an `n_…` parameter: the statement stays
#: within what psycopg caches.
_GIVEN = {
    "campaign_id": ":campaign_id",
    "currency": ":currency",
    "kind": ":kind",
    "frequency": ":frequency",
    "amount_minor": ":amount_minor",
    "kept_minor": ":amount_minor",
    "entries": "1",
    "payments": "1",
}


def _value(name: str) -> str:
    return _GIVEN.get(name, f":n_{name}")


def _add_to(model, key: tuple, sums: tuple, previous: str) -> str:
    """An upsert adding the values of `sums` to the row `key` names, once per row of the CTE
    `previous`; the donors' returns their new kept amount as `n`, the others a row."""
    names = (*key, *sums)
    added = ",".join(f"{name}=t.{name}+{_GIVEN.get(name, f'excluded.{name}')}" for name in sums)
    returned = f"t.{sums[0]} AS n" if model is LedgerDonor else "1"
    return (
        f"INSERT INTO {model.__tablename__} AS t ({','.join(names)})"  # noqa: S608 - see above
        f" SELECT {','.join(map(_value, names))} FROM {previous}"
        f" ON CONFLICT ({','.join(_key_of(model))}) DO UPDATE SET {added} RETURNING {returned}"
    )


def _params(names: tuple, prefix: str = "") -> str:
    return ",".join(f":{prefix}{name}" for name in names)


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


def _key_of(model) -> list[str]:
    return [column.name for column in model.__table__.primary_key.columns]


def _increment(model, key: dict, increments: dict, returning: bool = False) -> int | None:
    """Add `increments` to a roll-up row (creating it); with `returning`, the first sum's new
    value."""
    dialect = db.session.get_bind().dialect.name
    statement = _increment_statement(model, dialect, tuple(key), tuple(increments), returning)
    result = db.session.connection().execute(statement, {**key, **increments})  # see insert_new
    return result.scalar() if returning else None


@functools.cache
def _increment_statement(model, dialect: str, key: tuple, increments: tuple, returning: bool):
    """Built once per shape with bound parameters: SQLAlchemy then finds it compiled at once
    (a new statement per call cost more Python time than the database spent on it)."""
    statement = dialect_insert(model, dialect).values(
        {column: bindparam(column) for column in (*key, *increments)}
    )
    statement = statement.on_conflict_do_update(
        index_elements=_key_of(model),
        set_={name: getattr(model, name) + statement.excluded[name] for name in increments},
    )
    return statement.returning(getattr(model, increments[0])) if returning else statement


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
    rows = LedgerEntry.donor_email.in_(emails) | erased if emails else erased
    # The supporter rows of every key these donors had or now have are counted again.
    now_keys = select(_DONOR_KEY).where(rows & LedgerEntry.kind.in_(KEPT_KINDS))
    touched = LedgerSupporter.donor_key.in_(now_keys)
    touched = touched | LedgerSupporter.donor_key.in_(emails) if emails else touched
    before = _supporters_per_campaign(touched)
    if emails:
        for model in (LedgerDonor, LedgerDonorKey):
            db.session.execute(delete(model).where(model.donor_key.in_(emails)))
    _insert_donors(rows)
    db.session.execute(delete(LedgerSupporter).where(touched))
    _insert_supporters(LedgerDonor.donor_key.in_(now_keys))
    after = _supporters_per_campaign(touched)
    for campaign_id in before.keys() | after.keys():
        change = after.get(campaign_id, 0) - before.get(campaign_id, 0)
        if change:
            _increment(LedgerSupporterCount, {"campaign_id": campaign_id}, {"supporters": change})


def _supporters_per_campaign(where) -> dict[int, int]:
    """{campaign_id: supporter rows above 0} among the rows `where` selects."""
    query = (
        select(LedgerSupporter.campaign_id, func.count())
        .where(where, LedgerSupporter.currencies > 0)
        .group_by(LedgerSupporter.campaign_id)
    )
    return {campaign_id: int(count) for campaign_id, count in db.session.execute(query)}


def _insert_supporters(donors) -> int:
    """Supporter rows for the LedgerDonor rows `donors` selects (whole donors: every currency):
    how many were written."""
    per_donor = [LedgerDonor.campaign_id, LedgerDonor.donor_key]
    query = (
        select(*per_donor, func.count())
        .where(donors, LedgerDonor.kept_minor > 0)
        .group_by(*per_donor)
    )
    return _fill(LedgerSupporter, ["campaign_id", "donor_key", "currencies"], query)


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
    supporters: int
    supporter_counts: int


def rebuild(tx: Transaction | None = None) -> RebuildCounts:
    """Empty the roll-ups and recompute them from the ledger with INSERT … SELECT.

    Three passes over the ledger: its rows summed once per quarter hour, campaign, currency,
    kind, frequency and channel (the four sums' roll-ups are re-summed from those groups),
    once per donor (both donor roll-ups and the supporters), and once per gift amount.

    On PostgreSQL the ledger is locked against writers meanwhile (SHARE mode: readers go on),
    so a payment landing during the rebuild is counted exactly once; SQLite has one writer.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE ledger_entries IN SHARE MODE"))
        # A bulk job: room for its hash tables (4 MB by default spilled them to disk at 1M
        # rows), and no JIT, whose compiling cost more than it saved. Both end with the
        # transaction.
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(text("SET LOCAL jit = off"))
    for model in ROLLUPS:
        db.session.execute(delete(model))
    connection = db.session.connection()
    for scratch in _SCRATCH.sorted_tables:
        scratch.drop(connection, checkfirst=True)
        scratch.create(connection)
    written = {**_insert_groups(), **_insert_donor_rollups()}
    amount = [LedgerEntry.campaign_id, LedgerEntry.currency, LedgerEntry.amount_minor]
    written[LedgerGiftAmount] = _fill(
        LedgerGiftAmount,
        ["campaign_id", "currency", "amount_minor", "payments"],
        select(*amount, func.count())
        .where(LedgerEntry.kind == EntryKind.PAYMENT.value)
        .group_by(*amount),
    )
    for scratch in _SCRATCH.sorted_tables:
        scratch.drop(connection)
    if tx is not None:  # every campaign's cached figures may be old now
        announce_every_campaign(tx)
    # Each roll-up was emptied first, so the rows its INSERT wrote are the rows it holds (no
    # count(*) over each afterwards: at 1M ledger rows, hundreds of thousands of rows read).
    return RebuildCounts(*(written[model] for model in ROLLUPS))


def _fill(model, names: list, query) -> int:
    """INSERT … SELECT `query` into the `names` columns of `model`: the rows written (the
    driver's row count, which SQLAlchemy keeps for an INSERT only when asked to)."""
    statement = insert(model).from_select(names, query)
    return db.session.execute(statement, execution_options=_ROW_COUNT).rowcount


_ROW_COUNT = {"preserve_rowcount": True}


#: Tables of the rebuild's own, for its passes over the ledger; each session has its own
#: (TEMPORARY), and the rebuild drops them when done.
_SCRATCH = MetaData()
#: The ledger's rows summed per quarter hour, campaign, currency, kind, frequency and
#: channel: every group the four sums' roll-ups have is a union of these.
_GROUPS = Table(
    "rebuild_groups",
    _SCRATCH,
    Column("quarter", Integer),
    Column("campaign_id", Integer),
    Column("currency", String(3)),
    Column("kind", String(16)),
    Column("frequency", String(10)),
    Column("channel", String(10)),
    *(Column(name, BigInteger) for name in (*SUMS, "settled_minor", "unsettled")),
    prefixes=["TEMPORARY"],
)
#: Each donor's payments less refunds per campaign and currency (LedgerDonor), with how many
#: of their rows were payments (only a payment makes a donor key).
_DONORS = Table(
    "rebuild_donors",
    _SCRATCH,
    Column("campaign_id", Integer),
    Column("currency", String(3)),
    Column("donor_key", String(320)),
    Column("kept_minor", BigInteger),
    Column("payments", BigInteger),
    prefixes=["TEMPORARY"],
)


def _insert_groups() -> dict:
    """_GROUPS from the ledger, then the four sums' roll-ups from _GROUPS: {model: rows}."""
    grouped, quarter = _quarter_expressions()
    per_group = [
        LedgerEntry.campaign_id,
        LedgerEntry.currency,
        LedgerEntry.kind,
        LedgerEntry.frequency,
        LedgerEntry.channel,
    ]
    settled = LedgerEntry.settled_amount_minor
    sums = [
        func.count(),
        func.sum(LedgerEntry.amount_minor),
        func.sum(func.coalesce(LedgerEntry.fee_minor, 0)),
        func.coalesce(func.sum(settled), 0),
        func.sum(case((settled.is_(None), 1), else_=0)),
    ]
    query = select(quarter, *per_group, *sums).group_by(grouped, *per_group)
    db.session.execute(insert(_GROUPS).from_select([c.name for c in _GROUPS.c], query))
    settlement = ("settled_minor", "unsettled")
    per_campaign = ("campaign_id", "currency", "kind", "frequency")
    resummed = (
        (LedgerTotal, per_campaign, (*SUMS, *settlement)),
        (LedgerQuarterHour, ("quarter", *per_campaign), SUMS),
        (LedgerChannelTotal, ("campaign_id", "channel", "currency"), SUMS[:2]),
        (
            LedgerQuarterChannel,
            ("quarter", "channel", "currency", "kind"),
            (*SUMS[:2], *settlement),
        ),
    )
    return {model: _resum(model, names, sums) for model, names, sums in resummed}


def _resum(model, names: tuple, sums: tuple) -> int:
    """A roll-up from _GROUPS: its `sums` added up per `names`, written in key order; the
    rows written.

    In key order because that is the order the books write them in (a quarter hour's rows
    follow the one before's): a period's quarter hours then sit together on disk as they do
    in a running database, instead of scattered by the hash that grouped them, which made
    the dashboard's period reads ~40% slower after a rebuild."""
    groups = [_GROUPS.c[name] for name in names]
    query = (
        select(*groups, *(func.sum(_GROUPS.c[name]) for name in sums))
        .group_by(*groups)
        .order_by(*groups)
    )
    return _fill(model, [*names, *sums], query)


def _insert_donor_rollups() -> dict:
    """_DONORS from the ledger, then from it LedgerDonor and LedgerDonorKey (each donor with
    a payment, per currency and once under ANY_CURRENCY); from LedgerDonor, LedgerSupporter
    (as erasure recounts it) and the counts: {model: rows}."""
    per_donor = [LedgerEntry.campaign_id, LedgerEntry.currency, _DONOR_KEY]
    paid = case((LedgerEntry.kind == EntryKind.PAYMENT.value, 1), else_=0)
    kept = (
        select(*per_donor, func.sum(LedgerEntry.amount_minor), func.sum(paid))
        .where(LedgerEntry.kind.in_(KEPT_KINDS))
        .group_by(*per_donor)
    )
    db.session.execute(insert(_DONORS).from_select([c.name for c in _DONORS.c], kept))
    donors = _DONORS.c
    names = ["campaign_id", "currency", "donor_key", "kept_minor"]
    paying = donors.payments > 0
    # Both key rows in one INSERT (one read of _DONORS); UNION drops a donor's repeats across
    # campaigns, as DISTINCT did for each.
    keys = select(donors.currency, donors.donor_key).where(paying)
    keys = keys.union(select(literal_column(f"'{ANY_CURRENCY}'"), donors.donor_key).where(paying))
    return {
        LedgerDonor: _fill(LedgerDonor, names, select(*(donors[name] for name in names))),
        LedgerDonorKey: _fill(LedgerDonorKey, _key_of(LedgerDonorKey), keys),
        LedgerSupporter: _insert_supporters(true()),
        LedgerSupporterCount: _fill(
            LedgerSupporterCount,
            ["campaign_id", "supporters"],
            select(LedgerSupporter.campaign_id, func.count()).group_by(LedgerSupporter.campaign_id),
        ),
    }


def announce_every_campaign(tx: Transaction) -> None:
    """Every campaign's cached figures are old once this change commits."""
    for campaign_id in db.session.scalars(select(Campaign.id)):
        tx.announce("ledger_changed", campaign_id=campaign_id)


def snapshot() -> dict[str, set[tuple]]:
    """Every roll-up row, per table (to compare before and after a rebuild), less the rows
    that mean what no row means (and that a rebuild does not write)."""
    return {
        model.__tablename__: {
            tuple(row)
            for row in db.session.execute(select(model.__table__).where(*_meaning(model)))
        }
        for model in ROLLUPS
    }


def _meaning(model) -> tuple:
    """Where a roll-up row means something: a supporter row or count at 0 is as none."""
    if model is LedgerSupporter:
        return (LedgerSupporter.currencies != 0,)
    if model is LedgerSupporterCount:
        return (LedgerSupporterCount.supporters != 0,)
    return ()


def differing_rows(before: dict[str, set[tuple]], after: dict[str, set[tuple]]) -> dict[str, int]:
    """Per table, rows in one snapshot and not the other (a changed row counts twice)."""
    return {table: len(before[table] ^ after[table]) for table in before}


def _quarter_expressions() -> tuple:
    """(what to GROUP BY, the quarter number in SQL of a group): LedgerEntry.occurred_at's
    quarter hour, as quarter_of does in Python.

    The width is written into the SQL, not bound: the SELECT must repeat the grouped
    expression exactly, and PostgreSQL does not match two different parameters as the same.
    """
    width = literal_column(str(QUARTER_SECONDS))
    if db.session.get_bind().dialect.name == "postgresql":
        # Timestamps grouped by their quarter hour's start (date_bin: integer microseconds),
        # each group's start then turned into its number: exact, and far cheaper than
        # numeric arithmetic on every row's epoch. The origin is a quarter-hour boundary
        # before any gift (date_bin rounds toward it, so times must not precede it).
        start = func.date_bin(
            literal_column(f"interval '{QUARTER_SECONDS} seconds'"),
            LedgerEntry.occurred_at,
            literal_column("timestamptz '1900-01-01 00:00:00+00'"),
        )
        return start, cast(func.extract("epoch", start) / width, Integer)
    # SQLite keeps UTC text ("2026-03-10 18:14:59.999999"); %s reads it as Unix seconds but
    # rounds the fraction to milliseconds (18:15:00), so only the whole seconds are read.
    whole_seconds = func.substr(LedgerEntry.occurred_at, 1, 19)
    quarter = cast(func.strftime(literal_column("'%s'"), whole_seconds), Integer) // width
    return quarter, quarter


#: A ledger row's donor, in SQL (as _donor_key).
_DONOR_KEY = func.coalesce(LedgerEntry.donor_email, LedgerEntry.payment_ref)


def _insert_donors(rows) -> None:
    """Donor rows for the payments `rows` selects, in both donor roll-ups (rows already
    there are kept)."""
    key = _DONOR_KEY
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
        db.session.execute(statement.on_conflict_do_nothing(index_elements=_key_of(model)))
