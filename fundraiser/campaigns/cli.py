"""`flask campaign import|list|close`: campaigns as content, managed from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from fundraiser.campaigns import services
from fundraiser.extensions import db
from fundraiser.money import format_money

campaign_cli = AppGroup("campaign", help="Import, list and close campaigns.")


@campaign_cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--slug", required=True, help="URL name of the campaign.")
@click.option("--goal", required=True, help="Goal in major units, e.g. 5000.")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. EUR.")
@click.option("--default", "make_default", is_flag=True, help="Serve this campaign at /.")
def import_command(path: Path, slug: str, goal: str, currency: str, make_default: bool) -> None:
    """Create or update a campaign from a plain-text article."""
    try:
        result = services.import_campaign(path, slug, goal, currency, make_default)
    except services.CampaignImportError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    verb = "Created" if result.created else ("Updated" if result.changed else "Unchanged")
    click.echo(f"{verb} campaign {result.campaign.slug!r}: {result.campaign.title}")


@campaign_cli.command("list")
def list_command() -> None:
    """Print every campaign with its totals."""
    campaigns = services.all_campaigns()
    if not campaigns:
        click.echo("No campaigns yet. Import one with `flask campaign import`.")
        return
    for campaign in campaigns:
        totals = services.campaign_totals(campaign)
        flags = " ".join(
            flag
            for flag, on in (("default", campaign.is_default), ("closed", not campaign.is_open))
            if on
        )
        click.echo(
            f"{campaign.slug:30} {format_money(totals.raised_minor, campaign.currency):>14} of "
            f"{format_money(campaign.goal_minor, campaign.currency):>14}  "
            f"{totals.supporters:>6} supporters  {flags}".rstrip()
        )


@campaign_cli.command("close")
@click.argument("slug")
def close_command(slug: str) -> None:
    """Stop taking gifts for a campaign and expire its open checkout sessions at Stripe."""
    campaign = services.campaign_by_slug(slug.strip().lower())
    if campaign is None:
        raise click.ClickException(f"There is no campaign {slug!r}.")
    result = services.close_campaign(campaign, "cli")
    click.echo(f"Closed campaign {campaign.slug!r}; expired {result.expired} open checkout(s).")
    if result.unreachable:
        raise click.ClickException(
            f"{result.unreachable} open checkout(s) could not be expired (Stripe unreachable); "
            "they lapse by themselves within 35 minutes, or run this command again."
        )


@campaign_cli.command("seed")
@click.option("--path", type=click.Path(path_type=Path), required=True)
def seed_command(path: Path) -> None:
    """Import the seed article as the default campaign if there is no campaign yet."""
    if services.all_campaigns():
        click.echo("Campaigns exist; seed skipped.")
        return
    result = services.import_campaign(path, "kazakhstan", "5000", "EUR", make_default=True)
    db.session.commit()
    click.echo(f"Seeded default campaign {result.campaign.slug!r}.")
