"""`flask staff create|list|disable|reset-2fa` (staff accounts) and `flask dashboard
rebuild-rollups` (the dashboard's ledger roll-ups) from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from fundraiser.dashboard import admin, audit
from fundraiser.dashboard.auth import normalise_email, staff_by_email
from fundraiser.extensions import db
from fundraiser.mail import MAILABLE
from fundraiser.models import Role, Supporter, utcnow
from fundraiser.passwords import hash_password, password_problem
from fundraiser.payments import ledger, rollups

CLI_ACTOR = "cli"

staff_cli = AppGroup("staff", help="Manage staff accounts.")
dashboard_cli = AppGroup("dashboard", help="Maintain the dashboard's figures.")


def _read_password(password_file: str | None, email: str) -> str:
    if password_file:
        try:
            password = Path(password_file).read_text("utf-8").rstrip("\r\n")
        except OSError as exc:
            raise click.ClickException(f"Cannot read {password_file}: {exc.strerror}") from exc
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password, email)
    if problem:
        raise click.ClickException(problem)
    return password


@staff_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([Role.VIEWER.value, Role.STAFF.value, Role.ADMIN.value]),
    default=Role.VIEWER.value,
    show_default=True,
)
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False),
    help="Read the password from this file instead of a prompt.",
)
def create(email: str, role: str, password_file: str | None) -> None:
    """Create a staff account, or give an existing account a staff role and a new password."""
    try:
        email = normalise_email(validate_email(email, **MAILABLE).normalized)
    except EmailNotValidError as exc:
        raise click.ClickException(f"{email!r} is not an email address: {exc}") from exc
    password = _read_password(password_file, email)
    account = staff_by_email(email)
    created = account is None
    if not created and role != Role.ADMIN.value:
        try:
            admin.guard_last_admin(account)
        except admin.AdminError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
    if created:
        account = Supporter(email=email, email_verified_at=utcnow())
        db.session.add(account)
    account.password_hash = hash_password(password)
    account.role = role
    account.is_active = True
    account.session_version = (account.session_version or 1) + (0 if created else 1)
    db.session.flush()
    action = "staff.created" if created else "staff.promoted"
    audit.record(CLI_ACTOR, action, f"supporter:{account.id}", email=email, role=role)
    db.session.commit()
    verb = "Created" if created else "Updated"
    click.echo(f"{verb} {role} {email}; they enrol a second factor at their first sign-in.")


@staff_cli.command("list")
def list_staff() -> None:
    """List staff accounts: email, role, active, second factor enrolled."""
    members = admin.staff_members()
    if not members:
        click.echo("No staff accounts yet. Create one with: flask staff create EMAIL --role admin")
        return
    for member in members:
        state = "active" if member.is_active else "disabled"
        second = "2fa" if member.totp_secret else "2fa-not-enrolled"
        click.echo(f"{member.email}\t{member.role}\t{state}\t{second}")


def _member(email: str) -> Supporter:
    member = staff_by_email(email)
    if member is None or member.role not in admin.STAFF_ROLES:
        raise click.ClickException(f"No staff account for {normalise_email(email)}.")
    return member


@staff_cli.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Switch a staff account off and sign it out everywhere."""
    member = _member(email)
    if not member.is_active:
        click.echo(f"{member.email} is already disabled.")
        return
    try:
        admin.disable(member, CLI_ACTOR)
    except admin.AdminError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Disabled {member.email}; their sessions have ended.")


@staff_cli.command("reset-2fa")
@click.argument("email")
def reset_2fa(email: str) -> None:
    """Forget a staff member's authenticator (lost phone); they enrol again at sign-in."""
    member = _member(email)
    admin.reset_second_factor(member, CLI_ACTOR)
    db.session.commit()
    click.echo(f"Second factor reset for {member.email}.")


@dashboard_cli.command("rebuild-rollups")
@click.option("--check", is_flag=True, help="Only report rows that differ; change nothing.")
def rebuild_rollups(check: bool) -> None:
    """Recompute the ledger roll-ups from the ledger (after a bulk load, or to repair them)."""
    if check:
        before = rollups.snapshot()
        rollups.rebuild()
        differing = rollups.differing_rows(before, rollups.snapshot())
        db.session.rollback()
        for table, count in differing.items():
            click.echo(f"{table}: {count} row(s) differ from the ledger")
        if any(differing.values()):
            raise SystemExit(1)
        click.echo("The roll-ups match the ledger.")
        return
    counts = ledger.change("cli:rebuild-rollups", rollups.rebuild)
    click.echo(
        f"Rebuilt from the ledger: {counts.totals} totals, {counts.quarter_hours} quarter hours, "
        f"{counts.donors} donors ({counts.donor_keys} donor keys), "
        f"{counts.gift_amounts} gift amounts, {counts.quarter_channels} quarter-hour channel sums."
    )


@dashboard_cli.command("weekly-summary")
def weekly_summary_command() -> None:
    """Mail last week's figures to STAFF_REPORT_EMAILS (run weekly by a timer)."""
    from fundraiser.dashboard.staff_mail import weekly_summary

    overview, sent = weekly_summary()
    if not sent:
        click.echo("STAFF_REPORT_EMAILS is empty: no summary sent.")
        return
    dates = f"{overview.period.current.first} – {overview.period.current.last}"
    click.echo(f"Weekly summary for {dates} sent to {sent} recipient(s).")
