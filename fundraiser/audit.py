"""The audit trail: one way to write an entry, for payments, accounts, staff and abuse alike."""

from __future__ import annotations

import json

from fundraiser.extensions import db
from fundraiser.models import AuditEntry


def record(actor: str, action: str, target: str = "", **detail) -> AuditEntry:
    """Add an audit entry to the session; the caller's commit makes it permanent."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        target=target,
        detail=json.dumps(detail, sort_keys=True, default=str),
    )
    db.session.add(entry)
    return entry
