"""`flask patreon …`: sync members from Patreon's API, and the bundled stand-in."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

patreon_cli = AppGroup("patreon", help="Patreon tools: sync members, the simulator.")


@patreon_cli.command("sync")
def sync_command() -> None:
    """Pull the campaign's members from Patreon (API v2) to fill what webhooks missed."""
    from fundraiser.patreon.sync import sync

    try:
        report = sync()
    except Exception as error:  # noqa: BLE001 - PatreonUnavailable or a bad document: say why
        raise click.ClickException(str(error)) from None
    click.echo(f"Members: {report.members}, refused: {len(report.refused)}")
    for member_id, why in report.refused:
        click.echo(f"  member {member_id}: {why}")
    click.echo(f"Payments booked: {report.booked}")
    for member, ours in report.drift:
        click.echo(
            f"  drift: {member.full_name or member.id} lifetime {member.lifetime_cents}"
            f" at Patreon, {ours} in our ledger"
        )


@patreon_cli.command("simulator")
@click.option("--port", default=12113, show_default=True, help="Port on 127.0.0.1.")
@click.option("--webhook-url", default=None, help="Where to deliver webhooks.")
def simulator_command(port: int, webhook_url: str | None) -> None:
    """Run the stand-in Patreon (members API, patron page, signed webhooks) on 127.0.0.1."""
    import time

    from simulators.patreon import start_simulator

    config = current_app.config
    url = webhook_url or f"{config['BASE_URL']}/patreon/webhook"
    handle = start_simulator(
        port=port,
        webhook_url=url,
        secret=config["PATREON_WEBHOOK_SECRET"] or "patreon-simulator-secret",
        token=config["PATREON_ACCESS_TOKEN"] or "patreon-simulator-token",
        campaign_id=config["PATREON_CAMPAIGN_ID"] or "1000",
        quiet=False,
    )
    click.echo(f"Patreon simulator on {handle.url} (become a patron: {handle.url}/join)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        handle.stop()
