"""`flask patreon sync`: every member from the API through the same adapter as the webhook."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry
from fundraiser.patreon import api
from fundraiser.patreon.services import PATREON, BadMember, Member, apply_member, drift
from fundraiser.payments import ledger


@dataclass
class SyncReport:
    members: int = 0
    booked: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    drift: list = field(default_factory=list)


def sync(sleep: Callable[[float], None] = time.sleep) -> SyncReport:
    report = SyncReport()
    before = patreon_rows()
    seen: list[Member] = []
    for resource in api.members(sleep):
        report.members += 1
        try:
            member = Member.from_resource(resource)
            ledger.change(
                "patreon:sync", lambda tx, m=member: apply_member(m, False, tx, snapshot=True)
            )
        except BadMember as error:
            report.refused.append((str((resource or {}).get("id", "?"))[:40], str(error)))
            continue
        seen.append(member)
    report.booked = patreon_rows() - before
    report.drift = drift(seen)
    return report


def patreon_rows() -> int:
    return int(
        db.session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.channel == PATREON)
        )
    )
