"""Whole public responses served again from this process's memory, before Flask runs.

A shared article is one URL asked for thousands of times a second. Flask's per-request
pipeline (request context, Flask-Login, the limiter's exemption lookup, CSRF, metrics, the
JSON request log, security headers, the session interface) costs ~0.6 ms even when the view
is a dict lookup: more than gunicorn's own work and ten times a hello-world. Views that
answer the same bytes to everyone (`share_response`) leave their finished response here for
PAGE_SNAPSHOT_SECONDS, and the next identical GET is answered from it with a fresh request
id. `ledger_changed` empties the store (it is `cache.snapshots`), so figures follow a
payment within the same second in this process and within the snapshot time in others.

Flask-Caching caches a view's return value, which still pays the whole pipeline; nginx's
micro-cache (deploy/) does this job in front of us, this does it where there is no nginx.
Requests with a query string, other methods and non-shared pages go straight to Flask.
Hits are counted in /metrics and logged by gunicorn's access log (with `rid=`), not by the
app's JSON request log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask, request
from werkzeug.http import parse_etags

from fundraiser.cache import snapshots
from fundraiser.observability import REQUEST_ID_HEADER, count_request, request_id_from_environ

#: Set by `share_response` in the WSGI environ: how long (s) the response may be served again.
SHARE_FOR = "fundraiser.share_for_seconds"
_ENDPOINT = "fundraiser.shared_endpoint"
_PREFIX = "shared-response:"


@dataclass(frozen=True)
class SharedResponse:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    endpoint: str


def share_response(seconds: float) -> None:
    """Let the response this request is about to get be served again for `seconds`."""
    if seconds > 0:
        request.environ[SHARE_FOR] = seconds
        request.environ[_ENDPOINT] = request.url_rule.endpoint if request.url_rule else ""


def _key(environ) -> str | None:
    if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
        return None
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    return f"{_PREFIX}{environ.get('wsgi.url_scheme')}://{host}{environ.get('PATH_INFO', '')}"


def _shareable(status: str, headers: list[tuple[str, str]]) -> bool:
    """A 200 or 304 that sets no cookie and doesn't vary by one: the view's promise checked."""
    if status[:3] not in {"200", "304"}:
        return False
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie" or (lowered == "vary" and "cookie" in value.lower()):
            return False
    return True


def _etag_of(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "etag":
            return value.strip('"').removeprefix("W/").strip('"')
    return None


class SharedResponses:
    """WSGI middleware serving what `share_response` kept; see the module docstring."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.wsgi_app = wsgi_app
        self.store = snapshots(app)

    def __call__(self, environ, start_response):
        key = _key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        found = self._lookup(key, environ)
        if found is not None:
            return self._serve(found, environ, start_response)
        return self._fill(key, environ, start_response)

    def _lookup(self, key: str, environ) -> SharedResponse | None:
        full = self.store.get(key)
        if full is None:
            return None
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if not if_none_match:
            return full
        etag = _etag_of(full.headers)
        if etag is not None and parse_etags(if_none_match).contains(etag):
            return self.store.get(f"{key}:304:{etag}")  # a miss goes to Flask, which fills it
        return full

    def _serve(self, found: SharedResponse, environ, start_response):
        started = time.perf_counter()
        request_id = request_id_from_environ(environ)
        start_response(found.status, [*found.headers, (REQUEST_ID_HEADER, request_id)])
        count_request(found.endpoint, "GET", found.status[:3], time.perf_counter() - started)
        return [found.body]

    def _fill(self, key: str, environ, start_response):
        captured: list = []

        def capturing_start_response(status, headers, exc_info=None):
            captured[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body_iterable = self.wsgi_app(environ, capturing_start_response)
        seconds = environ.get(SHARE_FOR, 0)
        if not seconds or not captured or not _shareable(*captured):
            return body_iterable
        try:
            body = b"".join(body_iterable)
        finally:
            if hasattr(body_iterable, "close"):
                body_iterable.close()
        status, headers = captured
        kept = [(name, value) for name, value in headers if name != REQUEST_ID_HEADER]
        shared = SharedResponse(status, kept, body, environ.get(_ENDPOINT, ""))
        if status.startswith("304"):
            key = f"{key}:304:{_etag_of(kept)}"
        self.store.set(key, shared, seconds)
        return [body]
