"""Observability: JSON logs with a request id, Prometheus metrics at /metrics, Sentry if set.

We use prometheus_client directly rather than prometheus-flask-exporter: we need our own
access rule on /metrics (bearer token or loopback), the request id we already time requests
with, and a collector that reads donation states from the database, and the exporter's
multiprocess mode wants a separate gunicorn-specific class and port.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, abort, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy or client as a request id: short, printable, no separators
# that could forge extra fields in a log line or a header.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
REQUEST_LOG = logging.getLogger("fundraiser.request")

REQUESTS = Counter(
    "fundraiser_http_requests_total",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ["endpoint", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "fundraiser_http_request_duration_seconds",
    "Time spent answering a request, by Flask endpoint.",
    ["endpoint"],
)
WEBHOOK_EVENTS = Counter(
    "fundraiser_webhook_events_total",
    "Stripe webhook deliveries by event type and outcome "
    "(handled, ignored, duplicate, failed, rejected, queued).",
    ["type", "outcome"],
)
WEBHOOK_LAG = Histogram(
    "fundraiser_webhook_lag_seconds",
    "Seconds between Stripe creating an event and our receiving it.",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600),
)
RECONCILE_RESULTS = Counter(
    "fundraiser_reconcile_results_total",
    "What `flask stripe reconcile` found, by result (e.g. in_sync, repaired, failed).",
    ["result"],
)

WEBHOOK_OUTCOMES = {"handled", "ignored", "duplicate", "failed", "rejected", "queued"}


def init_observability(app: Flask) -> None:
    """Request ids and JSON request logs, /metrics, and Sentry when SENTRY_DSN is set."""
    configure_logging(app.config.get("LOG_FORMAT", "json"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    from fundraiser.extensions import limiter

    limiter.exempt(metrics_view)
    if app.config.get("SENTRY_DSN"):
        init_sentry(app)


# --- Request ids and logs -----------------------------------------------------------------


def current_request_id() -> str | None:
    """This request's id (incoming X-Request-ID if sane, else generated), outside one None."""
    if not has_request_context():
        return None
    return g.get("request_id")


def _incoming_or_new_request_id() -> str:
    return request_id_from_environ(request.environ)


def request_id_from_environ(environ) -> str:
    """The incoming X-Request-ID if it is sane, else a new one."""
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def count_request(endpoint: str, method: str, status: str, seconds: float) -> None:
    """One answered request in /metrics."""
    REQUESTS.labels(endpoint, method, status).inc()
    REQUEST_SECONDS.labels(endpoint).observe(seconds)


def _start_request() -> None:
    g.request_id = _incoming_or_new_request_id()
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id") or _incoming_or_new_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
    count_request(endpoint, request.method, str(response.status_code), seconds)
    REQUEST_LOG.info(
        "%s %s %s",
        request.method,
        _loggable_path(),
        response.status_code,
        extra={
            "request_id": request_id,
            "method": request.method,
            "path": _loggable_path(),
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
        },
    )
    return response


def _loggable_path() -> str:
    """The path without secrets: tokens in account links are replaced, query strings left out."""
    path = request.path
    for name, value in (request.view_args or {}).items():
        if "token" in name and isinstance(value, str) and value:
            path = path.replace(value, "…")
    return path


_STANDARD_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


#: json.dumps(…, default=str, ensure_ascii=False) without building an encoder per line.
_LOG_JSON = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return _LOG_JSON.encode(entry)


class _JsonHandler(logging.StreamHandler):
    """Our stderr handler, told apart from others so repeated create_app calls add it once."""


def configure_logging(log_format: str) -> None:
    """Send the root logger's records to stderr as JSON lines (LOG_FORMAT=text keeps plain)."""
    root = logging.getLogger()
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # stripe-python logs two INFO lines per API call; our own lines say what mattered.
    logging.getLogger("stripe").setLevel(logging.WARNING)
    if log_format != "json":
        return
    for handler in list(root.handlers):
        if isinstance(handler, _JsonHandler):
            return
        # logging.basicConfig's plain stderr handler would print every line twice.
        if type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.stdout):
            root.removeHandler(handler)
    handler = _JsonHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)


# --- Webhooks and reconcile ---------------------------------------------------------------


def record_webhook(event: dict | None, outcome: str, handled_types=frozenset()) -> None:
    """Count one webhook delivery; for a verified event also how late it reached us. The
    caller (payments.webhooks) says which types it handles: this module imports no feature."""
    assert outcome in WEBHOOK_OUTCOMES, outcome
    event_type = _event_type_label(event, handled_types)
    WEBHOOK_EVENTS.labels(event_type, outcome).inc()
    if event is not None and outcome != "duplicate":
        created = event.get("created")
        if isinstance(created, int | float) and not isinstance(created, bool):
            WEBHOOK_LAG.observe(max(0.0, time.time() - created))


def webhook_outcome(outcome) -> str:
    """Our label for payments.events.Outcome."""
    if outcome.duplicate:
        return "duplicate"
    if outcome.queued:
        return "queued"
    return "handled" if outcome.handled else "ignored"


def _event_type_label(event: dict | None, handled_types) -> str:
    """Types we handle by name, the rest as "other": labels must stay a small, fixed set."""
    if event is None:
        return "unknown"
    event_type = event.get("type")
    return event_type if event_type in handled_types else "other"


# --- /metrics -----------------------------------------------------------------------------


class DonationStatesCollector:
    """Donation intents and pledges by status, counted in the database when scraped."""

    def collect(self):
        from fundraiser.extensions import db
        from fundraiser.models import DonationIntent, Pledge

        up = GaugeMetricFamily(
            "fundraiser_database_up", "Whether the database answered the metrics query."
        )
        try:
            intents = db.session.execute(
                select(DonationIntent.status, func.count()).group_by(DonationIntent.status)
            ).all()
            pledges = db.session.execute(
                select(Pledge.status, func.count()).group_by(Pledge.status)
            ).all()
            db.session.rollback()
        except SQLAlchemyError:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield _by_status("fundraiser_donation_intents", "Donation checkouts by status.", intents)
        yield _by_status("fundraiser_pledges", "Recurring pledges by status.", pledges)


def _by_status(name: str, documentation: str, rows) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["status"])
    for status, count in rows:
        family.add_metric([str(status)], count)
    return family


class _ProcessMetrics:
    """This process's own registry (counters, histograms, process and platform metrics)."""

    def collect(self):
        return REGISTRY.collect()


def metrics_registry(multiprocess_dir: str | None) -> CollectorRegistry:
    """Every worker's metrics (multiprocess mode) or this process's, plus the database's."""
    registry = CollectorRegistry()
    if multiprocess_dir:
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_ProcessMetrics())
    registry.register(DonationStatesCollector())
    return registry


def metrics_allowed() -> bool:
    """A matching METRICS_TOKEN bearer, or (if allowed) a direct, unproxied loopback request."""
    token = current_app.config.get("METRICS_TOKEN")
    authorization = request.headers.get("Authorization", "")
    if token and authorization.startswith("Bearer "):
        offered = authorization.removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), token.encode())
    if not current_app.config.get("METRICS_ALLOW_LOOPBACK", True):
        return False
    # A request relayed by a proxy on this machine comes from loopback too: refuse those.
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def metrics_view():
    """Prometheus text exposition; 403 unless metrics_allowed()."""
    if not metrics_allowed():
        abort(403, description="Metrics are only for our monitoring.")
    registry = metrics_registry(current_app.config.get("PROMETHEUS_MULTIPROC_DIR"))
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Sentry -------------------------------------------------------------------------------


def init_sentry(app: Flask) -> None:
    """Errors (and ERROR log lines, which is how our 500 handler reports) go to Sentry."""
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=app.config["SENTRY_DSN"],
        integrations=[FlaskIntegration()],
        environment="production" if app.config.get("PRODUCTION") else "development",
        release=app.config.get("BUILD_ID"),
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0.0),
        send_default_pii=False,
    )

    @app.before_request
    def tag_request_id() -> None:
        sentry_sdk.set_tag("request_id", g.get("request_id"))
