"""Importing PayPal's activity CSV: read, then book every new row in one change (or none)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fundraiser.payments import channel_books
from fundraiser.paypal import activity


@dataclass(frozen=True)
class ImportSummary:
    new: int
    known: int
    skipped: dict[str, int]
    refused: list[tuple[int, str]]
    #: False when nothing was booked because of refused rows (or a dry run).
    booked: bool
    #: Transactions this file booked first: no IPN had announced them (reconcile).
    not_seen_by_ipn: tuple[str, ...] = ()


def import_activity(
    data: bytes,
    actor: str,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    day_first: bool = True,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> ImportSummary:
    """Read the file; unless a row was refused (and not told to skip those) or it is a dry
    run, book its rows. An IPN that already booked a transaction makes its row "known"."""
    report = activity.read(data, day_first=day_first)
    refused_stop = bool(report.refused) and not skip_bad_rows
    if dry_run or refused_stop:
        known = len(activity.known_ids(report))
        new = len({row.fact.external_id for row in report.rows}) - known
        return ImportSummary(new, known, dict(report.skipped), report.refused, booked=False)
    facts = [row.fact for row in report.rows]
    outcome = channel_books.record_all(facts, actor, progress)
    return ImportSummary(
        outcome.new,
        outcome.known,
        dict(report.skipped),
        report.refused,
        booked=True,
        not_seen_by_ipn=outcome.new_ids,
    )
