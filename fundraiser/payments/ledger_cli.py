"""`flask ledger …`: imports from the other channels and offline gifts."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

ledger_cli = AppGroup("ledger", help="The ledger: imports from other channels, offline gifts.")
import_group = AppGroup("import", help="Import a channel's own export into the ledger.")
ledger_cli.add_command(import_group)

#: Files with more rows than this show a progress bar while they are booked.
PROGRESS_FROM_ROWS = 200


def _progress(facts):
    if len(facts) < PROGRESS_FROM_ROWS:
        return facts
    return _bar(facts)


def _bar(facts):
    with click.progressbar(facts, label="Booking") as bar:
        yield from bar


def echo_summary(summary, dry_run: bool) -> None:
    click.echo(f"New: {summary.new}")
    click.echo(f"Already known: {summary.known}")
    skipped = sum(summary.skipped.values())
    detail = ", ".join(f"{name} {count}" for name, count in sorted(summary.skipped.items()))
    click.echo(f"Skipped: {skipped}" + (f" ({detail})" if detail else ""))
    click.echo(f"Refused: {len(summary.refused)}")
    for line, why in summary.refused:
        click.echo(f"  line {line}: {why}")
    unseen = getattr(summary, "not_seen_by_ipn", ())
    if unseen:
        shown = ", ".join(unseen[:20]) + (" …" if len(unseen) > 20 else "")
        click.echo(f"Never announced by IPN (booked from this file): {shown}")
    if dry_run:
        click.echo("Dry run: nothing was imported.")


@import_group.command("paypal")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read and report; import nothing.")
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows when some are refused.")
@click.option(
    "--month-first", is_flag=True, help="Dates are MM/DD/YYYY (US exports); default DD/MM/YYYY."
)
def import_paypal(file: Path, dry_run: bool, skip_bad_rows: bool, month_first: bool) -> None:
    """Import PayPal's activity download (the "all transactions" CSV)."""
    from fundraiser.paypal.activity import ActivityFileError
    from fundraiser.paypal.imports import import_activity

    try:
        summary = import_activity(
            file.read_bytes(),
            actor=f"cli:import-paypal:{file.name}"[:100],
            dry_run=dry_run,
            skip_bad_rows=skip_bad_rows,
            day_first=not month_first,
            progress=_progress,
        )
    except ActivityFileError as error:
        raise click.ClickException(str(error)) from None
    echo_summary(summary, dry_run)
    if summary.refused and not skip_bad_rows and not dry_run:
        raise click.ClickException(
            "Nothing was imported: fix the refused rows or pass --skip-bad-rows."
        )


@ledger_cli.command("record-offline")
@click.option("--by", "staff_email", required=True, help="Email of the staff or admin recording.")
@click.option("--campaign", required=True, help="Campaign slug.")
@click.option("--amount", required=True, help='Amount, like "25" or "12.50".')
@click.option("--currency", default="", help="ISO code; default the campaign's.")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--method", type=click.Choice(["cash", "cheque", "bank transfer",
              "standing order", "other"]), default="cash", show_default=True)  # fmt: skip
@click.option("--name", default="", help="Donor name (optional).")
@click.option("--email", default="", help="Donor email (optional).")
@click.option("--reference", default="", help="Receipt, cheque or bank reference (unique).")
@click.option("--note", default="")
def record_offline_command(staff_email, campaign, amount, currency, day, method, name, email,
                           reference, note) -> None:  # fmt: skip
    """Record a gift that never touched a processor (cash, cheque, transfer)."""
    from fundraiser.money import format_money
    from fundraiser.payments.offline import (
        OfflineGift,
        OfflineGiftError,
        record_offline,
        recording_staff,
    )

    gift = OfflineGift(campaign, amount, currency, day.date(), method, name, email, reference, note)
    try:
        entry = record_offline(gift, recording_staff(staff_email))
    except OfflineGiftError as error:
        raise click.ClickException(str(error)) from None
    money = format_money(entry.amount_minor, entry.currency)
    click.echo(f"Recorded {money} as offline gift {entry.external_id} (ledger row {entry.id}).")


@ledger_cli.command("reverse-offline")
@click.option("--by", "staff_email", required=True, help="Email of the staff or admin.")
@click.option("--reason", required=True)
@click.argument("entry_id", type=int)
def reverse_offline_command(staff_email: str, reason: str, entry_id: int) -> None:
    """Reverse an offline gift recorded by mistake (a reversing entry; nothing is edited)."""
    from fundraiser.payments.offline import OfflineGiftError, recording_staff, reverse_offline

    try:
        entry = reverse_offline(entry_id, recording_staff(staff_email), reason)
    except OfflineGiftError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Reversed: ledger row {entry.id}.")


@import_group.command("patreon")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read and report; import nothing.")
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows when some are refused.")
def import_patreon(file: Path, dry_run: bool, skip_bad_rows: bool) -> None:
    """Import Patreon's members export (CSV): pledges, and each last charge marked Paid."""
    from fundraiser.patreon.export import ExportFileError
    from fundraiser.patreon.imports import import_export

    try:
        summary = import_export(
            file.read_bytes(),
            actor=f"cli:import-patreon:{file.name}",
            dry_run=dry_run,
            skip_bad_rows=skip_bad_rows,
            progress=_progress,
        )
    except ExportFileError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Members: {summary.members}")
    echo_summary(summary, dry_run)
    if summary.refused and not skip_bad_rows and not dry_run:
        raise click.ClickException(
            "Nothing was imported: fix the refused rows or pass --skip-bad-rows."
        )
    if summary.booked:
        click.echo(f"Payments booked: {summary.new}")
