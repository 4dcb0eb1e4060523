"""Running the simulator: a threaded werkzeug server in the background or the foreground."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.exceptions import ClientDisconnected, InternalServerError
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from .core import DEFAULT_RETRY_DELAYS, Simulator

#: How long an idle kept-alive connection is held open (clients reconnect after).
IDLE_SECONDS = 30


class _Handler(WSGIRequestHandler):
    """HTTP/1.1 with kept-alive connections: werkzeug's handler closes every connection
    (it cannot tell where a request it didn't read ends), so each API call cost a client a
    new TCP connection. The simulator's answers are small, so each is buffered and sent
    with its Content-Length; the request body is read to its Content-Length, never past."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS
    # Head and body leave in one write (flushed after each request), at once: with Nagle's
    # algorithm on a kept-alive connection a second small write waits for the client's ACK.
    wbufsize = -1
    disable_nagle_algorithm = True

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Where a chunked body ends is werkzeug's to find; it closes the connection.
            super().run_wsgi()
            return
        environ = self.make_environ()
        try:
            length = max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        environ["wsgi.input"] = body_in = LimitedStream(self.rfile, length)
        try:
            status, headers, body = self._call_app(environ)
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", "Error on request:\n%s", traceback.format_exc())
            status, headers, body = self._call_app(environ, InternalServerError())
            self.close_connection = True
        try:
            body_in.exhaust()  # what the app left unread, so the next request starts clean
        except ClientDisconnected:
            self.close_connection = True
            return
        self._send(status, headers, body)

    def handle_expect_100(self) -> bool:
        super().handle_expect_100()
        self.wfile.flush()  # the client sends the body only once it has this
        return True

    def _call_app(self, environ: dict, app=None) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        result = (app or self.server.app)(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return started[0], started[1], b"".join(chunks)

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        names = set()
        for name, value in headers:
            self.send_header(name, value)  # "Connection: close" from the app closes it
            names.add(name.lower())
        head = self.command == "HEAD"
        if "content-length" not in names and not head and int(code) not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")  # it asked for it
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_error(self, format: str, *args) -> None:  # noqa: A002 - the base's name
        if not format.startswith("Request timed out"):  # an idle connection we let go
            super().log_error(format, *args)


class _QuietHandler(_Handler):
    """Request handler without per-request access logs (tests make thousands of requests)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server that can close its kept-alive connections on stop."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection: idle handler threads see the end and finish."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


@dataclass
class SimulatorHandle:
    """A running simulator: its address, its state (``sim``) and how to stop it."""

    sim: Simulator
    server: _Server
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
        self.server.close_connections()
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
    server = _Server(host, port, sim, _QuietHandler if quiet else _Handler)
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
