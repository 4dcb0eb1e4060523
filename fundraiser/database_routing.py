"""Read-replica routing: staff pages may read from DATABASE_REPLICA_URL; every write goes
to the primary.

Only requests that opt in (the dashboard's GET pages) read from the replica, so what a
reader or a webhook sees is always the primary. Flushes, and everything in requests that
did not opt in, use the primary.
"""

from __future__ import annotations

from flask import g, has_request_context
from flask_sqlalchemy.session import Session

REPLICA_BIND = "replica"


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
            and REPLICA_BIND in self._db.engines
        ):
            return self._db.engines[REPLICA_BIND]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
