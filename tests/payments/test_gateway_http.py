"""The gateway's HTTP client: one kept-alive connection, lost connections retried, proxies used."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from fundraiser.payments import gateway
from simulators.stripe import flows, start_simulator


class Relay:
    """A loopback TCP relay to the simulator that counts connections, can close them all
    (as a server ends idle kept-alive connections) and can lose the next answer."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.lose_next_answer = False
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=5)
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            for source, sink, answers in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pipe, args=(source, sink, answers), daemon=True
                ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if answers:
                    with self._lock:
                        lose, self.lose_next_answer = self.lose_next_answer, False
                    if lose:
                        break
                sink.sendall(data)
        self._close(source, sink)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close_all(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        self._close(*sockets)

    def stop(self) -> None:
        self.listener.close()
        self.close_all()


@pytest.fixture
def simulator():
    handle = start_simulator()
    yield handle
    handle.stop()


@pytest.fixture
def relay(simulator):
    relay = Relay(simulator.port)
    yield relay
    relay.stop()


@pytest.fixture
def stripe_at(app, monkeypatch):
    """The app's Stripe settings for this test: base address and retries (0: any failure
    the client doesn't handle itself reaches us)."""

    def point(url: str, retries: int = 0):
        monkeypatch.setitem(app.config, "STRIPE_API_BASE", url)
        monkeypatch.setitem(app.config, "STRIPE_MAX_RETRIES", retries)

    return point


def test_calls_share_one_kept_alive_connection(app, relay, stripe_at) -> None:
    stripe_at(relay.url)
    with app.app_context():
        assert list(gateway.iter_events()) == []
        with pytest.raises(gateway.ObjectNotFound):  # an error answer keeps it too
            gateway.retrieve_subscription("sub_missing")
        assert list(gateway.iter_events()) == []
    assert relay.connections == 1


def test_a_connection_the_server_closed_is_replaced_without_error(app, relay, stripe_at) -> None:
    stripe_at(relay.url)
    with app.app_context():
        assert list(gateway.iter_events()) == []
        relay.close_all()
        assert list(gateway.iter_events()) == []
    assert relay.connections == 2


def test_a_post_whose_answer_was_lost_is_sent_again_with_its_key(
    app, simulator, relay, stripe_at
) -> None:
    with simulator.sim.transaction():
        customer = flows.create_customer(simulator.sim, "a@example.org", None, emit=False)
    stripe_at(relay.url)
    with app.app_context():
        assert list(gateway.iter_events()) == []
        relay.lose_next_answer = True
        url = gateway.billing_portal_url(customer["id"], "https://news.example/account")
    sessions = simulator.sim.objects("billing_portal.session")
    assert [session["url"] for session in sessions] == [url]  # the key replayed the first
    posts = [
        r for r in simulator.sim.store.requests if r == ("POST", "/v1/billing_portal/sessions")
    ]
    assert len(posts) == 2


class _ForwardProxy(BaseHTTPRequestHandler):
    """A plain-HTTP forward proxy that notes each request it carries."""

    def _forward(self) -> None:
        self.server.seen.append((self.command, self.path))
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(target.netloc, timeout=5)
        path = f"{target.path}?{target.query}" if target.query else target.path
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream.request(self.command, path, body=body or None, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("connection", "content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward

    def log_message(self, *args) -> None:
        pass


def test_a_proxy_in_the_environment_is_used(app, simulator, stripe_at, monkeypatch) -> None:
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ForwardProxy)
    proxy.daemon_threads = True
    proxy.seen = []
    threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}).start()
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
    stripe_at(simulator.url)
    try:
        with app.app_context():
            assert list(gateway.iter_events()) == []
        assert [(method, urlsplit(url).path) for method, url in proxy.seen] == [
            ("GET", "/v1/events")
        ]
        assert proxy.seen[0][1].startswith(simulator.url)
    finally:
        proxy.shutdown()
        proxy.server_close()
