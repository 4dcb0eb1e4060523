"""The audit trail: one way to write an entry, for payments, accounts, staff and abuse alike."""

from __future__ import annotations

import json

from sqlalchemy import bindparam, insert

from fundraiser.extensions import db
from fundraiser.models import AuditEntry

#: write()'s INSERT, built once (created_at comes from the column's default).
_INSERT = (
    insert(AuditEntry)
    .inline()
    .values({column: bindparam(column) for column in ("actor", "action", "target", "detail")})
)


def record(actor: str, action: str, target: str = "", **detail) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit makes it permanent."""
    entry = AuditEntry(actor=actor, action=action, target=target, detail=_detail(detail))
    db.session.add(entry)
    return entry


def write(actor: str, action: str, target: str = "", **detail) -> None:
    """Write an audit entry now, with one INSERT and no ORM object (for the books, once per
    payment); it is permanent with the caller's commit, like record's."""
    if db.session.new:
        db.session.flush()  # entries recorded before this one keep the lower ids
    values = {"actor": actor, "action": action, "target": target, "detail": _detail(detail)}
    db.session.connection().execute(_INSERT, values)


def _detail(detail: dict) -> str:
    return json.dumps(detail, sort_keys=True, default=str)
