"""Kept-alive connections: the simulator answers many requests on one, and delivers on one."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stripe

from simulators.stripe import start_simulator

from .helpers import FAST_RETRIES, SECRET

AUTH = {"Authorization": "Bearer sk_test_keepalive"}


def _exchange(connection, method, path, body=None, headers=None):
    connection.request(method, path, body=body, headers={**AUTH, **(headers or {})})
    response = connection.getresponse()
    return response, response.read()


def test_one_connection_carries_every_kind_of_answer(simulator) -> None:
    connection = http.client.HTTPConnection(simulator.host, simulator.port, timeout=5)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response, body = _exchange(connection, "POST", "/v1/customers", b"email=a%40example.org", form)
    assert response.status == 200 and not response.will_close
    customer = json.loads(body)
    sock = connection.sock

    answers = [
        ("GET", f"/v1/customers/{customer['id']}", None, 200),
        ("GET", "/v1/customers/cus_missing", None, 404),  # Stripe's error JSON
        ("GET", "/", None, 200),  # a hosted HTML page
        ("HEAD", "/", None, 200),
        ("GET", "/no/such/page", None, 404),
        ("POST", "/", b"a body the page never reads", 200),  # read past, not into the next
        ("POST", "/_sim/faults", b'{"latency_ms": 0}', 200),
    ]
    for method, path, payload, status in answers:
        response, body = _exchange(connection, method, path, payload)
        assert response.status == status, (method, path, body)
        assert not response.will_close
        length = int(response.headers["Content-Length"])
        assert (body == b"" and length > 0) if method == "HEAD" else length == len(body)
        assert connection.sock is sock, f"{method} {path} closed the connection"
    assert json.loads(_exchange(connection, "GET", f"/v1/customers/{customer['id']}")[1]) == (
        customer
    )
    connection.close()


def test_http_1_0_and_connection_close_are_honoured(simulator) -> None:
    for request in (b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"):
        with socket.create_connection((simulator.host, simulator.port), timeout=5) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):  # ends: the server closes
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"Connection: close" in head and b"Stripe simulator" in body


def test_expect_100_continue_is_answered_before_the_body(simulator) -> None:
    head = (
        "POST /v1/customers HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer sk_test_x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    with socket.create_connection((simulator.host, simulator.port), timeout=5) as sock:
        sock.sendall(head.encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"email=a%40b.org")
        assert sock.recv(100).startswith(b"HTTP/1.1 200 OK\r\n")


def test_stop_is_quick_and_ends_idle_connections() -> None:
    handle = start_simulator()
    connection = http.client.HTTPConnection(handle.host, handle.port, timeout=5)
    assert _exchange(connection, "GET", "/")[0].status == 200
    started = time.monotonic()
    handle.stop()
    assert time.monotonic() - started < 2
    assert connection.sock.recv(1) == b"", "the idle connection was left open"
    connection.close()


class _Endpoint(BaseHTTPRequestHandler):
    """A keep-alive webhook endpoint that counts connections and can hang up unanswered."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            hang_up, self.server.hang_up = self.server.hang_up, False
            if not hang_up:
                self.server.delivered += 1
        if hang_up:  # no answer, closed: as when a server lets an idle connection go just then
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def _endpoint() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.connections = server.delivered = 0
    server.hang_up = False
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    return server


def test_delivery_worker_reuses_its_connection_and_survives_a_hang_up() -> None:
    endpoint = _endpoint()
    handle = start_simulator(
        webhook_url=f"http://127.0.0.1:{endpoint.server_port}/hook",
        webhook_secret=SECRET,
        retry_delays=FAST_RETRIES,
        delivery_workers=1,
    )
    try:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": handle.url})
        for number in range(3):
            client.v1.customers.create(params={"email": f"p{number}@example.org"})
            assert handle.flush()
        assert (endpoint.connections, endpoint.delivered) == (1, 3)

        endpoint.hang_up = True  # the kept-alive connection is dropped as the next one is sent
        client.v1.customers.create(params={"email": "late@example.org"})
        assert handle.flush()
        assert (endpoint.connections, endpoint.delivered) == (2, 4)
        log = handle.sim.deliveries()
        assert [(d["attempt"], d["outcome"]) for d in log] == [(1, "delivered")] * 4
    finally:
        handle.stop()
        endpoint.shutdown()
        endpoint.server_close()
