"""`flask stripe …`: the bundled Stripe simulator (demo mode and tests)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

stripe_cli = AppGroup("stripe", help="Stripe tools: the simulator, reconciliation.")


@stripe_cli.command("simulator")
@click.option("--port", default=12111, show_default=True, help="Port on 127.0.0.1.")
@click.option("--webhook-url", default=None, help="Where to deliver events (STRIPE_WEBHOOK_URL).")
def simulator_command(port: int, webhook_url: str | None) -> None:
    """Run the stand-in Stripe API and checkout pages on 127.0.0.1 (no real money)."""
    from simulators.stripe import serve

    url = webhook_url or current_app.config["STRIPE_WEBHOOK_URL"]
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    click.echo(f"Stripe simulator on http://127.0.0.1:{port}, webhooks to {url}")
    settlement = current_app.config["SETTLEMENT_CURRENCY"]
    click.echo(f"The simulated account settles in {settlement}.")
    serve(port=port, webhook_url=url, webhook_secret=secret, settlement_currency=settlement)


@stripe_cli.command("reconcile")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Only look at Stripe objects created since this date (UTC). Default: everything.",
)
def reconcile_command(since) -> None:
    """Apply whatever our books missed from Stripe (safe to run any time, repeatedly)."""
    from datetime import UTC

    from fundraiser.payments.reconcile import reconcile

    since_unix = int(since.replace(tzinfo=UTC).timestamp()) if since else None
    with click.progressbar(length=0, label="Reconciling with Stripe", show_pos=True) as bar:
        report = reconcile(since_unix, tick=lambda: bar.update(1))
    click.echo(
        f"Events seen: {report.events_seen}, applied (were missing): {report.events_applied}\n"
        f"Objects checked: {report.objects_checked}, fixed: {report.objects_fixed}\n"
        f"Failures: {report.failures}"
    )
    for problem in report.problems[:20]:
        click.echo(f"  ! {problem}", err=True)
    if not report.ok:
        raise SystemExit(1)
