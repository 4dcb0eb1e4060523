"""Helpers for simulator tests: webhook receiver, /_sim calls, checkout session builders."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from simulators.stripe import SimulatorHandle

SECRET = "whsec_simulator_tests"
FAST_RETRIES = (0.05, 0.1, 0.2)


class Receiver:
    """A loopback webhook endpoint that verifies signatures like the service must."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.rejected: list[str] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/stripe"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        payload = request.get_data()
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                return Response("boom", status=500)(environ, start_response)
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("Stripe-Signature", ""), self.secret
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            with self.lock:
                self.rejected.append(str(exc))
            return Response("bad signature", status=400)(environ, start_response)
        record = json.loads(payload)
        record["_headers"] = dict(request.headers)
        assert event.id == record["id"]
        with self.lock:
            self.events.append(record)
        return Response("ok")(environ, start_response)

    def types(self) -> list[str]:
        with self.lock:
            return [event["type"] for event in self.events]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        with self.lock:
            return [event for event in self.events if event["type"] == type_]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def control(handle: SimulatorHandle, path: str, method: str = "POST", **data: Any):
    """Call a /_sim control with a JSON body; returns (status, decoded JSON)."""
    body = json.dumps(data).encode() if method != "GET" else None
    request = urllib.request.Request(
        handle.url + path, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def payment_session(
    client: stripe.StripeClient, amount: int = 1000, options: Any = None, **extra: Any
):
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://news.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://news.example/donate",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": amount,
                    "product_data": {"name": "Donation to the newsroom"},
                },
            }
        ],
        "submit_type": "donate",
        "customer_email": "reader@example.com",
        "metadata": {"donation_id": "d-1"},
        "payment_intent_data": {"metadata": {"donation_id": "d-1"}},
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params, options=options or {})


def subscription_session(
    client: stripe.StripeClient, amount: int = 500, interval: str = "month", **extra: Any
):
    params: dict[str, Any] = {
        "mode": "subscription",
        "success_url": "https://news.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://news.example/donate",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": amount,
                    "recurring": {"interval": interval},
                    "product_data": {"name": "Monthly support"},
                },
            }
        ],
        "customer_email": "member@example.com",
        "subscription_data": {"metadata": {"pledge_id": "p-9"}},
        "metadata": {"pledge_id": "p-9"},
    }
    params.update(extra)
    return client.v1.checkout.sessions.create(params=params)


def complete(handle: SimulatorHandle, session_id: str, **data: Any) -> dict[str, Any]:
    status, body = control(handle, f"/_sim/checkout/{session_id}/complete", **data)
    assert status == 200, body
    return body


def paid_subscription(handle: SimulatorHandle, client: stripe.StripeClient, **extra: Any):
    session = subscription_session(client, **extra)
    return complete(handle, session.id)["session"]["subscription"]


def wait_until(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
