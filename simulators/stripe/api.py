"""The /v1 HTTP API: auth, idempotency, Stripe-shaped errors, lists, expansion and routing."""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import params as p
from .core import API_VERSION
from .params import StripeError, not_found
from .store import IdempotentResponse, random_token

if TYPE_CHECKING:
    from .core import Simulator

logger = logging.getLogger(__name__)
JSON = dict[str, Any]

# Which Stripe object each id prefix names, for "No such ..." messages and expansion.
KIND_NAMES = {
    "checkout.session": "checkout.session",
    "payment_intent": "payment_intent",
    "charge": "charge",
    "refund": "refund",
    "dispute": "dispute",
    "invoice": "invoice",
    "invoice_payment": "invoice_payment",
    "subscription": "subscription",
    "subscription_item": "subscription_item",
    "customer": "customer",
    "price": "price",
    "product": "product",
    "payment_method": "PaymentMethod",
    "setup_intent": "setup_intent",
    "balance_transaction": "balance_transaction",
}


@dataclass
class ApiRequest:
    """One /v1 request: decoded params plus what events and idempotency need."""

    sim: Simulator
    request: Request
    params: JSON
    api_key: str
    request_id: str = field(default_factory=lambda: f"req_{random_token(14)}")

    @property
    def idempotency_key(self) -> str | None:
        return self.request.headers.get("Idempotency-Key") or None

    @property
    def expand(self) -> list[str]:
        return p.expand_paths(self.params)

    def respond(self, obj: JSON, status: int = 200) -> tuple[int, JSON]:
        return status, expand(self.sim, obj, self.expand)


# -- expansion ------------------------------------------------------------------------------


#: Stripe expands at most this many levels (``data.invoice.subscription.default_source``).
MAX_EXPAND_DEPTH = 4


def expand(sim: Simulator, obj: JSON, paths: list[str]) -> JSON:
    """A copy of ``obj`` with ``expand[]`` paths replaced by the objects they name."""
    if not paths:
        return obj
    for path in paths:
        if path.count(".") >= MAX_EXPAND_DEPTH:
            raise StripeError(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                f"Property: {path}",
                param="expand",
            )
    result = copy.deepcopy(obj)
    for path in paths:
        _expand_path(sim, result, path.split("."), path)
    return result


def _expand_path(sim: Simulator, node: Any, parts: list[str], full: str) -> None:
    if isinstance(node, list):
        for element in node:
            _expand_path(sim, element, parts, full)
        return
    if not isinstance(node, dict):
        return
    key, rest = parts[0], parts[1:]
    if key not in node:
        node[key] = _includable(sim, node, key, full)
    value = node[key]
    if isinstance(value, str):
        target = sim.store.get(value)
        if target is None or key in ("id", "object"):
            raise StripeError(f"This property cannot be expanded ({full}).", param="expand")
        value = node[key] = copy.deepcopy(target)
    if rest and value is not None:
        _expand_path(sim, value, rest, full)


def _includable(sim: Simulator, node: JSON, key: str, full: str) -> JSON:
    """Properties Stripe only returns on request (``expand[]=line_items`` and the like)."""
    kind = node.get("object")
    if kind == "checkout.session" and key == "line_items":
        items = copy.deepcopy(sim.store.line_items.get(node["id"], []))
        return _embedded_list(items, f"/v1/checkout/sessions/{node['id']}/line_items")
    if kind == "invoice" and key == "payments":
        payment_id = sim.store.invoice_payments.get(node["id"])
        payments = [copy.deepcopy(sim.store.objects[payment_id])] if payment_id else []
        return _embedded_list(payments, f"/v1/invoices/{node['id']}/payments")
    raise StripeError(f"This property cannot be expanded ({full}).", param="expand")


def _embedded_list(data: list[JSON], url: str) -> JSON:
    return {"object": "list", "data": data, "has_more": False, "url": url}


# -- lists ----------------------------------------------------------------------------------


def created_filter(params: JSON, name: str = "created") -> Callable[[int], bool]:
    """Stripe's ``created`` / ``created[gte]`` … range filter as a predicate."""
    raw = params.get(name)
    if raw is None or raw == "":
        return lambda _value: True
    if isinstance(raw, str):
        exact = p.integer(params, name)
        return lambda value: value == exact
    bounds = {op: p.integer(params, f"{name}.{op}") for op in ("gt", "gte", "lt", "lte")}
    unknown = set(raw) - set(bounds)
    if unknown:
        raise StripeError(f"Received unknown parameter: {name}[{unknown.pop()}]", param=name)

    def keep(value: int) -> bool:
        return (
            (bounds["gt"] is None or value > bounds["gt"])
            and (bounds["gte"] is None or value >= bounds["gte"])
            and (bounds["lt"] is None or value < bounds["lt"])
            and (bounds["lte"] is None or value <= bounds["lte"])
        )

    return keep


def page_bounds(params: JSON) -> tuple[int, str | None, str | None]:
    limit = p.integer(params, "limit")
    limit = 10 if limit is None else limit
    if not 1 <= limit <= 100:
        raise StripeError(
            "Invalid limit: must be between 1 and 100",
            code="parameter_invalid_integer",
            param="limit",
        )
    after, before = p.string(params, "starting_after"), p.string(params, "ending_before")
    if after and before:
        raise StripeError(
            "You may only specify one of these parameters: ending_before, starting_after."
        )
    return limit, after, before


def paginate(items: list[Any], ids: list[str], params: JSON) -> tuple[list[Any], bool]:
    """Slice newest-first ``items`` (with parallel ``ids``) the way Stripe's cursors do."""
    limit, after, before = page_bounds(params)
    if after or before:
        cursor = after or before
        try:
            index = ids.index(cursor)
        except ValueError:
            raise not_found(
                "object", cursor or "", "starting_after" if after else "ending_before"
            ) from None
        if after:
            page = items[index + 1 : index + 1 + limit]
            return page, index + 1 + limit < len(items)
        start = max(0, index - limit)
        return items[start:index], start > 0
    return items[:limit], len(items) > limit


def list_response(ctx: ApiRequest, objects: Iterable[JSON], url: str) -> tuple[int, JSON]:
    keep_created = created_filter(ctx.params)
    items = [obj for obj in objects if keep_created(obj["created"])]
    page, has_more = paginate(items, [obj["id"] for obj in items], ctx.params)
    body = {"object": "list", "data": page, "has_more": has_more, "url": url}
    paths = ctx.expand
    if any(not path.startswith("data.") for path in paths):
        raise StripeError(
            "List expansions must start with data. (e.g. data.customer)", param="expand"
        )
    return 200, expand(ctx.sim, body, paths)


# -- request handling -----------------------------------------------------------------------


def stripe_error_response(error: StripeError, request_id: str) -> Response:
    return json_response(error.status, error.payload(request_id), request_id)


def json_response(status: int, payload: JSON | bytes, request_id: str) -> Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, indent=2).encode()
    response = Response(body, status=status, content_type="application/json")
    response.headers["Request-Id"] = request_id
    response.headers["Stripe-Version"] = API_VERSION
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def api_key_of(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    if request.authorization and request.authorization.type == "basic":
        return request.authorization.username
    return None


def authenticate(sim: Simulator, request: Request) -> str:
    key = api_key_of(request)
    if not key:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth "
            "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            status=401,
        )
    if not key.startswith(sim.api_key_prefix) or len(key) <= len(sim.api_key_prefix):
        raise StripeError(f"Invalid API Key provided: {mask(key)}", status=401)
    return key


def mask(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else "****"


def decode_params(request: Request) -> tuple[JSON, str]:
    """Params from query and form body, plus a canonical fingerprint for idempotency."""
    pairs = parse_qsl(request.query_string.decode(), keep_blank_values=True)
    if request.method in ("POST", "DELETE"):
        pairs += parse_qsl(request.get_data(as_text=True), keep_blank_values=True)
    fingerprint = json.dumps([request.method, request.path, sorted(pairs)])
    return p.decode_form(pairs), fingerprint


class Api:
    """WSGI handler for /v1 paths."""

    def __init__(self, sim: Simulator, routes: list[Rule]) -> None:
        self.sim = sim
        self.urls = Map(routes, strict_slashes=False)

    def __call__(self, request: Request) -> Response:
        faults = self.sim.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        request_id = f"req_{random_token(14)}"
        with self.sim.lock:
            self.sim.store.requests.append((request.method, request.path))
        if faults.down:
            error = StripeError(
                "The Stripe API is temporarily unavailable (simulated outage).",
                status=503,
                type="api_error",
            )
            return stripe_error_response(error, request_id)
        try:
            return self._handle(request, request_id)
        except StripeError as error:
            return stripe_error_response(error, request_id)
        except Exception as exc:  # a simulator bug must still look like a Stripe 500
            logger.exception("Stripe simulator failed on %s %s", request.method, request.path)
            error = StripeError(f"Simulator error: {exc!r}", status=500, type="api_error")
            return stripe_error_response(error, request_id)

    def _handle(self, request: Request, request_id: str) -> Response:
        adapter = self.urls.bind_to_environ(request.environ)
        try:
            handler, args = adapter.match()
        except (NotFound, MethodNotAllowed):
            raise StripeError(
                f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                status=404,
            ) from None
        api_key = authenticate(self.sim, request)
        params, fingerprint = decode_params(request)
        ctx = ApiRequest(self.sim, request, params, api_key, request_id)
        key = ctx.idempotency_key if request.method in ("POST", "DELETE") else None
        with self.sim.transaction({"id": request_id, "idempotency_key": key}):
            if key:
                replay = self._replay(api_key, key, fingerprint, request_id)
                if replay is not None:
                    return replay
            try:
                status, payload = handler(ctx, **args)
            except StripeError as error:
                status, payload = error.status, error.payload(request_id)
            response = json_response(status, payload, request_id)
            # Stripe keeps results of requests that ran (incl. card declines), not bad input.
            if key and (status < 400 or status == 402):
                self.sim.store.idempotency[(api_key, key)] = IdempotentResponse(
                    fingerprint, status, response.get_data()
                )
        if key:
            response.headers["Idempotency-Key"] = key
        return response

    def _replay(self, api_key: str, key: str, fingerprint: str, request_id: str) -> Response | None:
        saved = self.sim.store.idempotency.get((api_key, key))
        if saved is None:
            return None
        if saved.fingerprint != fingerprint:
            raise StripeError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        response = json_response(saved.status, saved.body, request_id)
        response.headers["Idempotent-Replayed"] = "true"
        response.headers["Idempotency-Key"] = key
        return response
