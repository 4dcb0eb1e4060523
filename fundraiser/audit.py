"""The audit trail: one way to write an entry, for payments, accounts, staff and abuse alike."""

from __future__ import annotations

import json

from sqlalchemy import bindparam, insert

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, utcnow

#: write_entry's INSERT, built once.
_INSERT = (
    insert(AuditEntry)
    .inline()
    .values(
        {
            column: bindparam(column)
            for column in ("actor", "action", "target", "detail", "created_at")
        }
    )
)


def record(actor: str, action: str, target: str = "", **detail) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit makes it permanent."""
    entry = AuditEntry(actor=actor, action=action, target=target, detail=_detail(detail))
    db.session.add(entry)
    return entry


def entry(actor: str, action: str, target: str = "", **detail) -> dict:
    """An audit entry's column values, for write_entry or a statement that writes it along
    with other rows (payments.rollups.insert_entry)."""
    return {
        "actor": actor,
        "action": action,
        "target": target,
        "detail": _detail(detail),
        "created_at": utcnow(),
    }


def write(actor: str, action: str, target: str = "", **detail) -> None:
    """Write an audit entry now, with one INSERT and no ORM object (for the books); it is
    permanent with the caller's commit, like record's."""
    write_entry(entry(actor, action, target, **detail))


def write_entry(values: dict) -> None:
    """Write an audit entry given as entry's column values, now."""
    if db.session.new:
        db.session.flush()  # entries recorded before this one keep the lower ids
    db.session.connection().execute(_INSERT, values)


def _detail(detail: dict) -> str:
    return json.dumps(detail, sort_keys=True, default=str)
