"""Importing Patreon's members export: read, then mirror every member and book each last
charge marked Paid in one change (or none), for `flask ledger import patreon` and the
dashboard's upload alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, ledger_key
from fundraiser.patreon import export
from fundraiser.patreon.services import PATREON, apply_member, charge_id
from fundraiser.payments import ledger


@dataclass(frozen=True)
class PatreonImportSummary:
    members: int
    #: Charges marked Paid that this file booked (or would book, on a dry run).
    new: int
    #: Charges marked Paid that the ledger holds already (from a webhook, the sync, a file).
    known: int
    #: Members with no charge to book, per last charge status ("Declined", "no charge"…).
    skipped: dict[str, int]
    refused: list[tuple[int, str]]
    #: False when nothing was booked because of refused rows (or a dry run).
    booked: bool


def import_export(
    data: bytes,
    actor: str,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: Callable[[list], Iterable] | None = None,
) -> PatreonImportSummary:
    """Raises export.ExportFileError when the file is not a members export at all."""
    members, refused = export.read(data)
    charges = {charge_id(member) for _, member in members} - {None}
    skipped = Counter(
        member.last_charge_status or "no charge"
        for _, member in members
        if charge_id(member) is None
    )
    known = len(_booked(charges))
    if dry_run or (refused and not skip_bad_rows):
        return PatreonImportSummary(
            len(members), len(charges) - known, known, dict(skipped), refused, booked=False
        )

    def work(tx):
        for _, member in progress(members) if progress else members:
            apply_member(member, False, tx, snapshot=True)

    ledger.change(actor[:100], work)
    new = len(_booked(charges)) - known
    return PatreonImportSummary(
        len(members), new, len(charges) - new, dict(skipped), refused, booked=True
    )


def _booked(external_ids: set[str]) -> set[str]:
    keys = [ledger_key(PATREON, external_id) for external_id in external_ids]
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            db.session.scalars(
                select(LedgerEntry.external_id).where(
                    LedgerEntry.stripe_ref.in_(keys[start : start + 500])
                )
            )
        )
    return found
