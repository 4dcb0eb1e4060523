"""`flask paypal …`: the bundled PayPal stand-in (demo mode and tests)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

paypal_cli = AppGroup("paypal", help="PayPal tools: the simulator.")


@paypal_cli.command("simulator")
@click.option("--port", default=12112, show_default=True, help="Port on 127.0.0.1.")
@click.option("--ipn-url", default=None, help="Where to deliver IPN messages.")
def simulator_command(port: int, ipn_url: str | None) -> None:
    """Run the stand-in PayPal donate page, IPN delivery and verification on 127.0.0.1."""
    import time

    from simulators.paypal import start_simulator

    base = current_app.config["BASE_URL"]
    url = ipn_url or f"{base}/paypal/ipn"
    handle = start_simulator(port=port, ipn_url=url, return_url=base, quiet=False)
    click.echo(f"PayPal simulator on {handle.url} (donate page {handle.url}/donate), IPN to {url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        handle.stop()
