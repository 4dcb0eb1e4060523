"""Helpers to drive donations end to end: post the form, pay at the simulator, await webhooks."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

from flask import has_app_context

from fundraiser.extensions import db
from tests.conftest import BASE_URL

ORIGIN = {"Origin": BASE_URL}


def donate(client, campaign: str, amount: str = "25", frequency: str = "one-time", **fields):
    """POST the public form as a same-origin browser would."""
    form = {"campaign": campaign, "amount": amount, "currency": "EUR", "frequency": frequency}
    form.update(fields)
    return client.post("/donate", data=form, headers=ORIGIN)


def session_id_from(response) -> str:
    match = re.search(r"/c/pay/(cs_[A-Za-z0-9_]+)", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)


def sim_control(handle, path: str, **data) -> dict:
    request = urllib.request.Request(
        f"{handle.url}/_sim/{path}",
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        return {"status": error.code, **json.loads(error.read() or b"{}")}


def pay(handle, session_id: str, card: str = "4242424242424242", **extra) -> dict:
    """Complete the hosted checkout with a test card and wait for the webhooks to land."""
    result = sim_control(handle, f"checkout/{session_id}/complete", card=card, **extra)
    handle.flush(timeout=15)
    return result


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if has_app_context():
            db.session.rollback()  # see rows other threads committed
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def post_event(client, event: dict, secret: str | None = None, timestamp: int | None = None):
    """POST an event to our webhook, signed with Stripe's own helper (unless secret is '')."""
    import stripe

    from tests.conftest import WEBHOOK_SECRET

    payload = json.dumps(event)
    headers = {"Content-Type": "application/json"}
    if secret != "":
        headers["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(
            payload, secret or WEBHOOK_SECRET, timestamp
        )
    return client.post("/stripe/webhook", data=payload, headers=headers)


def stripe_client(handle):
    import stripe

    return stripe.StripeClient("sk_test_tests", base_addresses={"api": handle.url})


def signed_in_session(client, supporter_id: int, session_version: int) -> None:
    """Make the client's session signed in as the supporter, as a sign-in would: the
    Flask-Login id plus a live server-side login session."""
    from fundraiser.accounts import sessions
    from fundraiser.extensions import db
    from fundraiser.models import Supporter

    with client.application.app_context():
        key = sessions.begin(db.session.get(Supporter, supporter_id))
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = f"{supporter_id}:{session_version}"
        session["_fresh"] = True
        session[sessions.SESSION_KEY] = key


def run_in_threads(target, count: int) -> None:
    """Run target(0) … target(count - 1) each in its own thread, all at once, and wait for all."""
    workers = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
