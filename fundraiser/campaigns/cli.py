"""`flask campaign import|list|close|presets|photo`: campaigns as content, from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from fundraiser.campaigns import photos, presets, services
from fundraiser.extensions import db
from fundraiser.money import format_money

campaign_cli = AppGroup("campaign", help="Import, list and close campaigns.")


@campaign_cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--slug", required=True, help="URL name of the campaign.")
@click.option("--goal", help="Goal in major units, e.g. 5000 (not with --lang).")
@click.option("--currency", help="ISO 4217 code, e.g. EUR (not with --lang).")
@click.option("--default", "make_default", is_flag=True, help="Serve this campaign at /.")
@click.option(
    "--lang",
    "language",
    help="Store PATH as the article in this language (de, fr, es, ru) of an existing campaign.",
)
def import_command(
    path: Path,
    slug: str,
    goal: str | None,
    currency: str | None,
    make_default: bool,
    language: str | None,
) -> None:
    """Create or update a campaign from a plain-text article (or its translation, --lang)."""
    if language is not None:
        _import_translation(path, slug, language)
        return
    missing = [name for name, value in (("--goal", goal), ("--currency", currency)) if not value]
    if missing:
        raise click.UsageError(f"Missing option {' and '.join(missing)} (needed without --lang).")
    try:
        result = services.import_campaign(path, slug, goal, currency, make_default)
    except services.CampaignImportError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    verb = "Created" if result.created else ("Updated" if result.changed else "Unchanged")
    click.echo(f"{verb} campaign {result.campaign.slug!r}: {result.campaign.title}")


def _import_translation(path: Path, slug: str, language: str) -> None:
    from fundraiser.campaigns.translations import import_translation

    try:
        result = import_translation(path, slug, language)
    except services.CampaignImportError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    verb = "Created" if result.created else ("Updated" if result.changed else "Unchanged")
    click.echo(
        f"{verb} the {result.translation.language!r} article of campaign "
        f"{result.campaign.slug!r}: {result.translation.title}"
    )


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


@campaign_cli.command("presets")
@click.argument("slug")
@click.option(
    "--frequency",
    type=click.Choice(["one-time", "monthly", "yearly"]),
    required=True,
    help="Which ladder to set.",
)
@click.option("--amounts", default="", help='Whole amounts, e.g. "5,10,20"; empty: the defaults.')
@click.option("--impact", multiple=True, help='What an amount pays for: "10=A week of reporting".')
@click.option("--default", "make_default", is_flag=True, help="Open the form on this frequency.")
def presets_command(
    slug: str, frequency: str, amounts: str, impact: tuple[str, ...], make_default: bool
) -> None:
    """Set a campaign's preset amounts (and what each pays for) for one frequency."""
    campaign = services.campaign_by_slug(slug)
    if campaign is None:
        raise click.ClickException(f"No campaign {slug!r}.")
    try:
        presets.set_ladder(campaign, frequency, amounts, list(impact))
    except presets.PresetError as exc:
        raise click.ClickException(str(exc)) from exc
    if make_default:
        presets.set_default_frequency(campaign, frequency)
    db.session.commit()
    shown = ", ".join(str(p.amount) for p in presets.ladder(campaign, frequency))
    click.echo(f"{campaign.slug} {frequency}: {shown} (form opens on {campaign.default_frequency})")


@campaign_cli.command("photo")
@click.argument("slug")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def photo_command(slug: str, path: Path) -> None:
    """Give a campaign its photo: resized for every screen, under fingerprinted names."""
    campaign = services.campaign_by_slug(slug)
    if campaign is None:
        raise click.ClickException(f"No campaign {slug!r}.")
    try:
        names = photos.attach_photo(campaign, path.read_bytes())
    except photos.PhotoError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"{campaign.slug}: photo saved as {', '.join(names)}")
