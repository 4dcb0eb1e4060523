"""Running the simulator: a threaded werkzeug server in the background or the foreground."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .core import DEFAULT_RETRY_DELAYS, Simulator


class _QuietHandler(WSGIRequestHandler):
    """Request handler without per-request access logs (tests make thousands of requests)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class SimulatorHandle:
    """A running simulator: its address, its state (``sim``) and how to stop it."""

    sim: Simulator
    server: BaseWSGIServer
    thread: threading.Thread
    host: str

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def flush(self, timeout: float = 10) -> bool:
        """Block until every queued webhook delivery succeeded or finally failed."""
        return self.sim.flush(timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.sim.close()


def start_simulator(
    port: int = 0,
    host: str = "127.0.0.1",
    webhook_url: str | None = None,
    webhook_secret: str = "whsec_test",
    api_key_prefix: str = "sk_test_",
    delivery_workers: int = 4,
    retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
    public_url: str | None = None,
    quiet: bool = True,
    settlement_currency: str | None = None,
) -> SimulatorHandle:
    """Start the simulator on a daemon thread (``port=0`` picks a free port).

    ``public_url`` overrides the base of hosted page URLs (session.url, portal url) when
    browsers reach the simulator under another name than ``http://host:port``.
    """
    sim = Simulator(
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        api_key_prefix=api_key_prefix,
        delivery_workers=delivery_workers,
        retry_delays=retry_delays,
        settlement_currency=settlement_currency,
    )
    handler = _QuietHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, sim, threaded=True, request_handler=handler)
    display_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - comparison only
    sim.base_url = public_url or f"http://{display_host}:{server.server_port}"
    # A short poll interval keeps stop() quick (shutdown waits for the next poll).
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="stripe-simulator",
        daemon=True,
    )
    thread.start()
    return SimulatorHandle(sim, server, thread, display_host)


def serve(
    port: int = 12111,
    webhook_url: str | None = None,
    webhook_secret: str = "whsec_test",
    host: str = "127.0.0.1",
    public_url: str | None = None,
    settlement_currency: str | None = None,
) -> None:
    """Run the simulator in the foreground until interrupted (``flask stripe simulator``).

    Point the service at it with the Stripe API base ``http://<host>:<port>`` and any
    ``sk_test_...`` key; events go to ``webhook_url`` signed with ``webhook_secret``.
    """
    handle = start_simulator(
        port=port,
        host=host,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        public_url=public_url,
        quiet=False,
        settlement_currency=settlement_currency,
    )
    logging.getLogger(__name__).warning(
        "Stripe simulator on %s (webhooks → %s)", handle.url, webhook_url or "nowhere"
    )
    print(f"Stripe simulator listening on {handle.url}; webhooks → {webhook_url or 'none'}")
    try:
        handle.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m simulators.stripe [--port N] [--webhook-url URL] ...``."""
    import argparse

    parser = argparse.ArgumentParser(description="Local stand-in for Stripe's HTTP API")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret", default="whsec_test")
    parser.add_argument("--public-url")
    args = parser.parse_args(argv)
    serve(args.port, args.webhook_url, args.webhook_secret, args.host, args.public_url)
