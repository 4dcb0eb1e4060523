"""Read-replica routing: staff pages may read from DATABASE_REPLICA_URL; every write goes
to the primary.

Only requests that opt in (the dashboard's GET pages) read from the replica, so what a
reader or a webhook sees is always the primary. Flushes, and everything in requests that
did not opt in, use the primary.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context
from flask_sqlalchemy.session import Session
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from fundraiser.config import sqlalchemy_url

_REPLICA = "fundraiser_replica_engine"


def configure_replica(app: Flask) -> None:
    """An engine for DATABASE_REPLICA_URL, kept outside Flask-SQLAlchemy's binds: the replica
    has no tables of its own to create or migrate."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if url:
        app.extensions[_REPLICA] = create_engine(sqlalchemy_url(url), pool_pre_ping=True)


def replica_engine() -> Engine | None:
    return current_app.extensions.get(_REPLICA)


def read_from_replica() -> None:
    """Let this request's queries read from the replica, if one is configured."""
    g.read_from_replica = True


class ReplicaRoutingSession(Session):
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (
            bind is None
            and not self._flushing
            and has_request_context()
            and g.get("read_from_replica")
            and (replica := replica_engine()) is not None
        ):
            return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
