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
    from fundraiser.payments.simulator import serve

    url = webhook_url or current_app.config["STRIPE_WEBHOOK_URL"]
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    click.echo(f"Stripe simulator on http://127.0.0.1:{port}, webhooks to {url}")
    serve(port=port, webhook_url=url, webhook_secret=secret)
