"""Operators can follow a request through the logs, scrape metrics privately, and get errors."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time

import pytest
from prometheus_client import REGISTRY

from fundraiser import create_app
from fundraiser.extensions import db
from fundraiser.models import DonationIntent
from fundraiser.observability import RECONCILE_RESULTS, JsonFormatter
from tests.conftest import REPO_ROOT
from tests.helpers import post_event


def request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "fundraiser.request"]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_sane_incoming_request_id_is_kept_and_echoed(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-4f2a.9:1"})
    assert response.headers["X-Request-ID"] == "edge-4f2a.9:1"


@pytest.mark.parametrize("incoming", [None, "", "x" * 300, "two words", "a;b=c", "ü-nicode"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_fresh_one(client, incoming):
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert first != second and len(first) == 32 and first.isalnum()


def test_every_request_is_one_json_log_line_with_its_id_status_and_duration(client, caplog):
    caplog.set_level(logging.INFO, logger="fundraiser.request")
    client.get("/no-such-page", headers={"X-Request-ID": "trace-me-1"})
    [record] = request_records(caplog)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-me-1"
    assert line["method"] == "GET" and line["path"] == "/no-such-page"
    assert line["status"] == 404 and line["endpoint"] == "unmatched"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["logger"] == "fundraiser.request"


def test_log_lines_leave_out_tokens_and_query_strings(client, caplog):
    caplog.set_level(logging.INFO, logger="fundraiser.request")
    client.get("/account/verify/s3cret-token-value?x=private")
    paths = [record.path for record in request_records(caplog)]
    assert paths and all("s3cret" not in path and "private" not in path for path in paths)


def test_exceptions_are_logged_as_json_with_the_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed" and "ValueError: boom" in line["exc"]


def test_metrics_count_requests_by_endpoint_and_status(client):
    before = sample(
        "fundraiser_http_requests_total", endpoint="campaigns.healthz", method="GET", status="200"
    )
    client.get("/healthz")
    body = client.get("/metrics")
    assert body.status_code == 200 and body.mimetype == "text/plain"
    after = sample(
        "fundraiser_http_requests_total", endpoint="campaigns.healthz", method="GET", status="200"
    )
    assert after == before + 1
    assert "fundraiser_http_request_duration_seconds_bucket" in body.get_data(as_text=True)


def test_metrics_show_donations_by_status(app, client, campaign):
    from fundraiser.campaigns.services import campaign_by_slug

    with app.app_context():
        for status in ("open", "open", "completed"):
            db.session.add(
                DonationIntent(
                    campaign_id=campaign_by_slug(campaign).id,
                    amount_minor=1000,
                    currency="EUR",
                    frequency="one-time",
                    status=status,
                )
            )
        db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'fundraiser_donation_intents{status="open"} 2.0' in text
    assert 'fundraiser_donation_intents{status="completed"} 1.0' in text
    assert "fundraiser_database_up 1.0" in text


def test_reconcile_results_are_a_counter_the_reconcile_command_can_increment(client):
    RECONCILE_RESULTS.labels(result="repaired").inc(0)
    assert "fundraiser_reconcile_results_total" in client.get("/metrics").get_data(as_text=True)


def test_webhook_deliveries_are_counted_by_outcome_with_their_lag(client, campaign):
    event = {
        "id": "evt_obs_1",
        "object": "event",
        "type": "customer.tax_id.created",
        "created": int(time.time()) - 30,
        "data": {"object": {"id": "txi_1", "object": "tax_id"}},
    }
    ignored = sample("fundraiser_webhook_events_total", type="other", outcome="ignored")
    duplicate = sample("fundraiser_webhook_events_total", type="other", outcome="duplicate")
    rejected = sample("fundraiser_webhook_events_total", type="unknown", outcome="rejected")
    lags = sample("fundraiser_webhook_lag_seconds_count")
    assert post_event(client, event).status_code == 200
    assert post_event(client, event).status_code == 200
    assert post_event(client, event, secret="").status_code == 400
    assert sample("fundraiser_webhook_events_total", type="other", outcome="ignored") == ignored + 1
    assert (
        sample("fundraiser_webhook_events_total", type="other", outcome="duplicate")
        == duplicate + 1
    )
    assert (
        sample("fundraiser_webhook_events_total", type="unknown", outcome="rejected")
        == rejected + 1
    )
    assert sample("fundraiser_webhook_lag_seconds_count") == lags + 1
    assert sample("fundraiser_webhook_lag_seconds_bucket", le="15.0") <= sample(
        "fundraiser_webhook_lag_seconds_bucket", le="60.0"
    )


REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def test_metrics_are_refused_to_the_public(client):
    assert client.get("/metrics", environ_base=REMOTE).status_code == 403
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403, "a proxy on this machine must not make us public"


def test_metrics_answer_the_right_bearer_token_from_anywhere(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-123")
    good = {"Authorization": "Bearer scrape-token-123"}
    bad = {"Authorization": "Bearer scrape-token-124"}
    assert client.get("/metrics", headers=good, environ_base=REMOTE).status_code == 200
    assert client.get("/metrics", headers=bad, environ_base=REMOTE).status_code == 403
    assert client.get("/metrics", headers=bad).status_code == 403, "a wrong token is never let in"


def test_loopback_access_can_be_switched_off(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOW_LOOPBACK", False)
    assert client.get("/metrics").status_code == 403


WORKER = """
import sys
from fundraiser import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
client = app.test_client()
for _ in range(int(sys.argv[1])):
    client.get("/healthz")
if sys.argv[2] == "scrape":
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def test_metrics_add_up_across_gunicorn_workers_in_multiprocess_mode(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "LOG_FORMAT": "text"}
    env.pop("DATABASE_URL", None)

    def worker(requests: int, mode: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(requests), mode],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    worker(3, "quiet")
    scraped = worker(2, "scrape")
    line = 'fundraiser_http_requests_total{endpoint="campaigns.healthz",method="GET",status="200"}'
    assert f"{line} 5.0" in scraped


def test_sentry_starts_only_when_a_dsn_is_set(monkeypatch, tmp_path):
    import sentry_sdk

    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **kwargs: calls.append(kwargs))
    base = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.db'}"}
    create_app({**base, "SENTRY_DSN": None})
    assert calls == []
    create_app({**base, "SENTRY_DSN": "https://public@sentry.example/1"})
    assert len(calls) == 1 and calls[0]["dsn"] == "https://public@sentry.example/1"
    assert calls[0]["send_default_pii"] is False
