"""The one caller of Stripe's API: every other module asks here, in our terms, with our ids."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit
from urllib.request import getproxies

import stripe
import urllib3
from flask import current_app
from flask_babel import gettext as _
from urllib3.exceptions import ProtocolError

from fundraiser.i18n import STRIPE_LOCALES
from fundraiser.models import DonationIntent, Frequency

#: The API version every call is made with, and that the webhook endpoint must be created
#: with (README): it is the version the installed `stripe` major (pinned in pyproject.toml)
#: was generated for, so payload shapes and the library agree.
API_VERSION = "2026-10-28.endive"

# Stripe requires at least 30 minutes ahead when the session is made; the margin covers the
# seconds between saving the intent and calling Stripe. An abandoned session expires soon.
CHECKOUT_LIFETIME_SECONDS = 35 * 60
#: How old a signed webhook may be (Stripe's library default): older ones are replays.
WEBHOOK_TOLERANCE_SECONDS = 300
_clients: dict[tuple, stripe.StripeClient] = {}
_clients_lock = threading.Lock()
#: Kept-alive connections per Stripe origin: one per thread that calls at the same time
#: (gunicorn's threads, a worker's one); beyond it a connection is made and dropped after.
_POOL_SIZE = 8


class PaymentsUnavailable(RuntimeError):
    """Stripe could not be reached or failed; nothing was changed, try again later."""


class PaymentRefused(ValueError):
    """Stripe refused the request; the message can be shown to a person."""


class ObjectNotFound(PaymentRefused):
    """Stripe has no object with an id we asked for (404 resource_missing)."""

    def __init__(self, message: str, object_ids: tuple[str, ...]):
        super().__init__(message)
        self.object_ids = object_ids


class InvalidWebhook(ValueError):
    """A webhook whose signature or body we cannot accept."""


def _client() -> stripe.StripeClient:
    config = current_app.config
    key = (
        config["STRIPE_SECRET_KEY"],
        config.get("STRIPE_API_BASE"),
        config["STRIPE_TIMEOUT_SECONDS"],
        config["STRIPE_MAX_RETRIES"],
    )
    with _clients_lock:
        if key not in _clients:
            base = {"api": config["STRIPE_API_BASE"]} if config.get("STRIPE_API_BASE") else None
            _clients[key] = stripe.StripeClient(
                config["STRIPE_SECRET_KEY"],
                stripe_version=API_VERSION,
                base_addresses=base,
                max_network_retries=config["STRIPE_MAX_RETRIES"],
                http_client=_http_client(config["STRIPE_TIMEOUT_SECONDS"]),
            )
        return _clients[key]


class _HttpClient(stripe.HTTPClient):
    """Stripe's HTTP client on urllib3 alone, with one keep-alive connection pool per origin
    (thread-safe, for gunicorn's threads): requests' per-call preparing and merging of
    settings was most of a call's CPU. Stripe's retries (request_with_retries) stay as they
    are; only a connection the server closed while idle is retried here, at once."""

    name = "urllib3"

    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self._pools: dict[tuple[str, str], urllib3.HTTPConnectionPool] = {}
        self._pools_lock = threading.Lock()

    def request(self, method, url, headers, post_data=None):
        return self._request_internal(method, url, headers, post_data, is_streaming=False)

    def request_stream(self, method, url, headers, post_data=None):
        return self._request_internal(method, url, headers, post_data, is_streaming=True)

    def _request_internal(self, method, url, headers, post_data, is_streaming):
        scheme, netloc, path, query, _ = urlsplit(url)
        pool = self._pools.get((scheme, netloc)) or self._pool(scheme, netloc)
        target = f"{path}?{query}" if query else path
        try:
            try:
                response = self._send(pool, method, target, headers, post_data, is_streaming)
            except ProtocolError:
                # The server closed a kept-alive connection as we sent on it (or dropped us
                # mid-answer): once more on a new one. A GET is idempotent and each POST
                # carries the Idempotency-Key stripe made for it, so Stripe answers once.
                response = self._send(pool, method, target, headers, post_data, is_streaming)
        except Exception as exc:  # noqa: BLE001 - every failure becomes Stripe's own error
            _raise_connection_error(exc)
        content = response if is_streaming else response.data
        return content, response.status, response.headers

    def _send(self, pool, method, target, headers, post_data, is_streaming):
        return pool.urlopen(
            method.upper(),
            target,
            body=post_data,
            headers=headers,
            retries=False,
            redirect=False,
            timeout=self._timeout,
            preload_content=not is_streaming,
        )

    def _pool(self, scheme: str, netloc: str) -> urllib3.HTTPConnectionPool:
        with self._pools_lock:
            if (scheme, netloc) not in self._pools:
                tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": stripe.ca_bundle_path}
                self._pools[scheme, netloc] = urllib3.connection_from_url(
                    f"{scheme}://{netloc}", maxsize=_POOL_SIZE, **(tls if scheme == "https" else {})
                )
            return self._pools[scheme, netloc]

    def close(self):
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def _raise_connection_error(exc: Exception) -> NoReturn:
    """Stripe's APIConnectionError for a failed request, retryable as with stripe's own
    clients: timeouts and lost connections are, a certificate or setup problem is not."""
    if isinstance(exc, urllib3.exceptions.SSLError):
        message = "Could not verify Stripe's SSL certificate."
        should_retry = False
    elif isinstance(
        exc, (urllib3.exceptions.TimeoutError, ProtocolError, urllib3.exceptions.ProxyError)
    ):
        message = "Unexpected error communicating with Stripe."
        should_retry = True
    else:
        message = "Unexpected error communicating with Stripe (a local configuration issue?)."
        should_retry = False
    message += f"\n\n(Network error: {type(exc).__name__}: {exc})"
    raise stripe.APIConnectionError(message, should_retry=should_retry) from exc


def _http_client(timeout: float) -> stripe.HTTPClient:
    """Ours, or with a proxy in the environment stripe's requests client, which honours it
    (and NO_PROXY) as requests does."""
    if getproxies():
        return stripe.RequestsClient(timeout=timeout)
    return _HttpClient(timeout)


def _call(method, *args, idempotency_key: str | None = None, **params) -> dict[str, Any]:
    """Call the API through a resource service; return a plain dict."""
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    params = {key: value for key, value in params.items() if value is not None}
    return _translated(
        lambda: method(*args, params=params or None, options=options),
        tuple(v for v in (*args, *params.values()) if isinstance(v, str)),
    ).to_dict()


def _get(path: str, *ids: str, **params) -> dict[str, Any]:
    """GET an object and read Stripe's JSON as it came: the same request as a service's
    retrieve, without building StripeObjects (a third of a call's CPU on a large invoice)."""
    url = path.format(*(quote(object_id, safe="") for object_id in ids))
    return _translated(lambda: _client().raw_request("get", url, **params), ids).data


def _translated(request, object_ids: tuple[str, ...] = ()):
    """Run one API request, mapping Stripe's errors onto ours (a 404 for the objects named
    by `object_ids` is ObjectNotFound)."""
    try:
        return request()
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise PaymentsUnavailable(str(exc.user_message or exc)) from exc
    except stripe.CardError as exc:
        raise PaymentRefused(exc.user_message or _("The card was declined.")) from exc
    except stripe.InvalidRequestError as exc:
        if object_ids and exc.http_status == 404 and exc.code == "resource_missing":
            raise ObjectNotFound(exc.user_message or "No such object.", object_ids) from exc
        raise PaymentRefused(exc.user_message or _("Stripe refused the request.")) from exc
    except stripe.StripeError as exc:
        if exc.http_status is not None and exc.http_status < 500:
            raise PaymentRefused(exc.user_message or _("Stripe refused the request.")) from exc
        raise PaymentsUnavailable(_("Stripe is not answering right now.")) from exc


# --- Checkout -------------------------------------------------------------------------


def create_checkout_session(
    intent: DonationIntent, success_url: str, cancel_url: str
) -> dict[str, Any]:
    """A Checkout session for this donation intent; retries with the same intent reuse it.

    Every parameter derives from the intent alone (expiry from its creation time), so a retry
    sends identical parameters and Stripe's idempotency key replays the first answer.
    """
    frequency = Frequency(intent.frequency)
    metadata = {"donation_intent": intent.public_id, "campaign": intent.campaign.slug}
    price_data: dict[str, Any] = {
        "currency": intent.currency.lower(),
        "unit_amount": intent.total_minor,
        "product_data": {"name": f"Donation: {intent.campaign.title}"[:250]},
    }
    params: dict[str, Any] = {
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": intent.public_id,
        "metadata": metadata,
        "expires_at": int(intent.created_at.timestamp()) + CHECKOUT_LIFETIME_SECONDS,
        "line_items": [{"price_data": price_data, "quantity": 1}],
    }
    if intent.email:
        params["customer_email"] = intent.email
    if intent.language in STRIPE_LOCALES:
        # Checkout in the reader's language (the page they gave on); older intents: Stripe's auto.
        params["locale"] = STRIPE_LOCALES[intent.language]
    if frequency is Frequency.ONE_TIME:
        params["mode"] = "payment"
        params["submit_type"] = "donate"
        params["customer_creation"] = "always"
        params["payment_intent_data"] = {"metadata": metadata, "description": "Donation"}
    else:
        params["mode"] = "subscription"
        price_data["recurring"] = {"interval": frequency.interval}
        params["subscription_data"] = {"metadata": metadata}
    return _call(
        _client().v1.checkout.sessions.create,
        idempotency_key=f"checkout-{intent.public_id}",
        **params,
    )


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    return _call(_client().v1.checkout.sessions.retrieve, session_id)


def expire_checkout_session(session_id: str) -> dict[str, Any]:
    return _call(_client().v1.checkout.sessions.expire, session_id)


# --- Payments, invoices, refunds, disputes ---------------------------------------------


def retrieve_payment_intent(payment_intent_id: str) -> dict[str, Any]:
    """The payment intent with its charge and the charge's balance transaction (for the fee)."""
    return _get(
        "/v1/payment_intents/{}", payment_intent_id, expand=["latest_charge.balance_transaction"]
    )


def retrieve_charge(charge_id: str) -> dict[str, Any]:
    return _get("/v1/charges/{}", charge_id, expand=["balance_transaction"])


def retrieve_invoice(invoice_id: str) -> dict[str, Any]:
    return _get("/v1/invoices/{}", invoice_id, expand=["payments"])


def retrieve_paid_invoice(invoice_id: str) -> dict[str, Any]:
    """The invoice with its payments' payment intents, in one call (Stripe expands at most
    four levels, so each intent's charge is only an id: the fee is looked up afterwards)."""
    return _get("/v1/invoices/{}", invoice_id, expand=["payments.data.payment.payment_intent"])


def invoice_for_payment_intent(payment_intent_id: str) -> dict[str, Any] | None:
    """The invoice a payment intent paid, if any (today's API links them via invoice payments)."""
    payments = _call(
        _client().v1.invoice_payments.list,
        payment={"type": "payment_intent", "payment_intent": payment_intent_id},
        limit=1,
    )
    if not payments["data"]:
        return None
    return retrieve_invoice(payments["data"][0]["invoice"])


def _paginate(method, **params) -> Iterator[dict[str, Any]]:
    """Every object of a Stripe list, page by page (Stripe lists are newest first)."""
    params.setdefault("limit", 100)
    while True:
        page = _call(method, **params)
        yield from page["data"]
        if not page.get("has_more") or not page["data"]:
            return
        params["starting_after"] = page["data"][-1]["id"]


def list_refunds(charge_id: str) -> list[dict[str, Any]]:
    return list(_paginate(_client().v1.refunds.list, charge=charge_id))


def create_refund(
    payment_intent_id: str, amount_minor: int, reason: str, idempotency_key: str
) -> dict[str, Any]:
    return _call(
        _client().v1.refunds.create,
        idempotency_key=idempotency_key,
        payment_intent=payment_intent_id,
        amount=amount_minor,
        reason="requested_by_customer",
        metadata={"note": reason[:500]},
    )


# --- Subscriptions ---------------------------------------------------------------------


def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    return _get("/v1/subscriptions/{}", subscription_id)


def modify_subscription(subscription_id: str, idempotency_key: str, **params) -> dict[str, Any]:
    return _call(
        _client().v1.subscriptions.update,
        subscription_id,
        idempotency_key=idempotency_key,
        **params,
    )


def cancel_subscription(subscription_id: str, reason: str, idempotency_key: str) -> dict[str, Any]:
    return _call(
        _client().v1.subscriptions.cancel,
        subscription_id,
        idempotency_key=idempotency_key,
        cancellation_details={"comment": reason[:500]} if reason else None,
    )


def resume_subscription(subscription_id: str, idempotency_key: str) -> dict[str, Any]:
    return _call(
        _client().v1.subscriptions.resume, subscription_id, idempotency_key=idempotency_key
    )


def billing_portal_url(customer_id: str, return_url: str) -> str:
    session = _call(
        _client().v1.billing_portal.sessions.create, customer=customer_id, return_url=return_url
    )
    return session["url"]


# --- Events ----------------------------------------------------------------------------


def verify_webhook(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event in a webhook body, if its Stripe-Signature is valid and recent."""
    if not signature:
        raise InvalidWebhook("Missing Stripe-Signature header.")
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        text = payload.decode("utf-8")
        # Stripe's own check of signature and age; the body is then read as plain JSON
        # (building and flattening StripeObjects cost more than the rest of a webhook).
        stripe.WebhookSignature.verify_header(text, signature, secret, WEBHOOK_TOLERANCE_SECONDS)
        body = json.loads(text)
        if not isinstance(body, dict):
            raise TypeError("not an object")
    except UnicodeDecodeError as exc:
        raise InvalidWebhook("The body is not UTF-8.") from exc
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook("Invalid signature.") from exc
    # A signed body that is JSON but not an object (stripe then fails with AttributeError),
    # or nests too deeply for the parser (RecursionError), is no event either: 400, not 500.
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise InvalidWebhook("The body is not a JSON event.") from exc
    if not isinstance(body.get("id"), str) or not isinstance(body.get("type"), str):
        raise InvalidWebhook("The event has no id or type.")
    if not isinstance(body.get("data"), dict) or not isinstance(body["data"].get("object"), dict):
        raise InvalidWebhook("The event has no data object.")
    return body


def _since(created_gte: int | None) -> dict[str, Any]:
    return {"created": {"gte": created_gte}} if created_gte is not None else {}


def iter_events(created_gte: int | None = None) -> Iterator[dict[str, Any]]:
    return _paginate(_client().v1.events.list, **_since(created_gte))


def iter_checkout_sessions(created_gte: int | None = None) -> Iterator[dict[str, Any]]:
    return _paginate(_client().v1.checkout.sessions.list, **_since(created_gte))


def iter_paid_invoices(created_gte: int | None = None) -> Iterator[dict[str, Any]]:
    return _paginate(_client().v1.invoices.list, status="paid", **_since(created_gte))


def iter_charges(created_gte: int | None = None) -> Iterator[dict[str, Any]]:
    return _paginate(_client().v1.charges.list, **_since(created_gte))


def iter_subscriptions(created_gte: int | None = None) -> Iterator[dict[str, Any]]:
    return _paginate(_client().v1.subscriptions.list, status="all", **_since(created_gte))
