"""Database helpers that differ by backend: portable upserts and health checks."""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, text, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from fundraiser.extensions import db


def dialect_insert(model, dialect: str | None = None):
    """An INSERT that supports ON CONFLICT on both PostgreSQL and SQLite."""
    name = dialect or db.session.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    return module.insert(model)


def insert_if_absent(model, values: dict, conflict_columns: list[str], connection=None) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; returns True when this call inserted the row."""
    returning = conflict_columns[0]
    return insert_new(model, values, conflict_columns, returning, connection) is not None


def insert_new(model, values: dict, conflict_columns: list[str], returning: str, connection=None):
    """INSERT … ON CONFLICT DO NOTHING RETURNING `returning`: its value (say, the new id)
    when this call inserted the row, None when the row was there already. On the session's
    connection unless given another."""
    # Through a connection: a statement with parameters given to Session.execute takes the
    # ORM's bulk insert path, several times slower for one row.
    connection = connection or db.session.connection()
    statement = _insert_new_statement(
        model, connection.dialect.name, tuple(values), tuple(conflict_columns), returning
    )
    # RETURNING, not rowcount: psycopg reports -1 for these statements.
    return connection.execute(statement, values).scalar()


@functools.cache
def _insert_new_statement(model, dialect: str, columns: tuple, conflict: tuple, returning: str):
    """Built once per shape with bound parameters, so SQLAlchemy's compiled-statement cache
    finds it at once instead of walking a new statement's values on every call."""
    return (
        dialect_insert(model, dialect)
        .values({column: bindparam(column) for column in columns})
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(getattr(model, returning))
    )


def autocommitted_row(sql: str, params: dict):
    """One PostgreSQL statement (psycopg's %(name)s parameters) run as a transaction of its
    own on a pooled connection, straight through the driver: its first row, or None.

    For the webhook's one-row insert, SQLAlchemy's Connection around the driver (setting
    and resetting the isolation level, the execution context, the result) cost more CPU
    than the statement itself. What it would do on failure is kept: the driver's error comes
    out as SQLAlchemy's (OperationalError, IntegrityError …, so the 503 for an outage still
    answers it), and a connection found dead is invalidated rather than pooled again. The
    pool still checks a connection before handing it out (pool_pre_ping)."""
    engine = db.engine
    dialect = engine.dialect
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    try:
        driver.autocommit = True
        return driver.execute(sql, params).fetchone()
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, driver, None)
        if lost:
            pooled.invalidate(error)
        raise DBAPIError.instance(
            sql, params, error, dialect.loaded_dbapi.Error, connection_invalidated=lost
        ) from error
    finally:
        if pooled.is_valid:
            _back_to_transactions(pooled, driver)
        pooled.close()


def _back_to_transactions(pooled, driver) -> None:
    """Autocommit off again before the connection goes back to the pool (everyone else
    expects transactions); a connection that refuses is dropped instead."""
    try:
        driver.autocommit = False
    except Exception as error:  # noqa: BLE001 - whatever broke it, it must not be reused
        pooled.invalidate(error)


def rows_of_all(parts: list):
    """The rows of every SELECT in `parts` (same columns), in one round trip as a UNION ALL.

    On PostgreSQL, for the rest of the transaction, without Parallel Append: for a UNION ALL
    of a few small aggregates it would start worker processes (10-20 ms on a 2-core box at
    100k ledger rows) to save the 1-3 ms the parts take one after the other."""
    if not parts:
        return []
    if len(parts) == 1:
        return db.session.execute(parts[0])
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_parallel_append = off"))
    return db.session.execute(union_all(*parts))


def run(statement, params: dict | None = None):
    """Session.execute for a Core statement built once with bound parameters, without the
    ORM's work per call (it flushes pending changes first, as autoflush would)."""
    session = db.session()
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def database_state() -> tuple[bool, str]:
    """Whether the database answers a trivial query, with a short reason if not."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        return True, "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        return False, type(exc).__name__


_SQLITE_OUTAGE_WORDS = ("unable to open", "database is locked", "disk i/o", "readonly database")


def is_outage(error: Exception) -> bool:
    """True for "the database can't be reached right now", not for a bug in a query."""
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    message = str(getattr(error, "orig", error)).lower()
    if type(getattr(error, "orig", None)).__module__.startswith("sqlite3"):
        return any(word in message for word in _SQLITE_OUTAGE_WORDS)
    # Otherwise psycopg raises OperationalError for connection-level trouble.
    return not is_transient_conflict(error)


def is_transient_conflict(error: Exception) -> bool:
    """A deadlock or serialization failure: the transaction may simply be tried again."""
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    return code in {"40001", "40P01"}


def retrying(work, attempts: int = 3):
    """Run `work()` (which commits), again after a rollback if PostgreSQL reports a deadlock."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as error:
            db.session.rollback()
            if attempt == attempts or not is_transient_conflict(error):
                raise
