"""The staff audit trail: writing entries and reading them back for /staff/audit."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from fundraiser.audit import record  # noqa: F401 - staff code writes through audit.record
from fundraiser.extensions import db
from fundraiser.models import AuditEntry, Supporter

PAGE_SIZE = 50


def staff_actor(staff: Supporter) -> str:
    """How a staff member is named in the audit log."""
    return f"staff:{staff.id}"


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    actors: dict[str, str]
    page: int
    has_next: bool


def audit_page(page: int = 1, action: str = "", actor: str = "") -> AuditPage:
    """Newest entries first, optionally narrowed to an action prefix or one actor."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    rows = list(db.session.scalars(query.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    entries = rows[:PAGE_SIZE]
    return AuditPage(entries, _staff_names(entries), page, len(rows) > PAGE_SIZE)


def _staff_names(entries: list[AuditEntry]) -> dict[str, str]:
    """Email addresses for the staff actors on this page, so people read names, not ids."""
    ids = {int(e.actor.split(":", 1)[1]) for e in entries if _is_staff_actor(e.actor)}
    if not ids:
        return {}
    rows = db.session.execute(select(Supporter.id, Supporter.email).where(Supporter.id.in_(ids)))
    return {f"staff:{staff_id}": email or f"staff #{staff_id}" for staff_id, email in rows}


def _is_staff_actor(actor: str) -> bool:
    prefix, _, number = actor.partition(":")
    return prefix == "staff" and number.isdigit()


def detail_of(entry: AuditEntry) -> dict:
    try:
        value = json.loads(entry.detail or "{}")
    except ValueError:
        return {"raw": entry.detail}
    return value if isinstance(value, dict) else {"value": value}
