"""WSGI entry: sends /v1 to the API, /_sim to the controls, the rest to the hosted pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from . import checkout_page as pages
from .api import Api
from .controls import Controls
from .resources import routes

if TYPE_CHECKING:
    from .core import Simulator

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def build_app(sim: Simulator) -> WSGIApp:
    api = Api(sim, routes())
    controls = Controls(sim)

    def pages_for(request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["c", "pay"] and request.method in ("GET", "POST"):
            return pages.checkout(sim, request, parts[2])
        if len(parts) == 3 and parts[:2] == ["p", "session"] and request.method in ("GET", "POST"):
            return pages.portal(sim, request, parts[2])
        if len(parts) == 2 and parts[0] == "receipts":
            return pages.receipt(sim, parts[1])
        if len(parts) in (2, 3) and parts[0] == "i":
            return pages.invoice(sim, parts[1])
        if request.path == "/":
            return pages.page("Stripe simulator", _index(sim))
        return pages.page("Not found", "<h1>Not found</h1>", 404)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/v1/"):
            response = api(request)
        elif request.path.startswith("/_sim/"):
            response = controls(request)
        else:
            response = pages_for(request)
        return response(environ, start_response)

    return app


def _index(sim: Simulator) -> str:
    with sim.lock:
        counts = {kind: len(ids) for kind, ids in sim.store.by_type.items()}
        events = len(sim.store.events)
    rows = "".join(f"<li>{escape(kind)}: {n}</li>" for kind, n in sorted(counts.items()))
    return (
        "<h1>Stripe simulator</h1><p>Speaks Stripe's /v1 API for the official libraries.</p>"
        f"<p>Webhook endpoint: {escape(sim.webhook_url or 'none')}</p>"
        f"<p>Events: {events}</p><ul>{rows}</ul>"
    )
