"""Health check, error pages in the site's look, and production's refusal to start unsafely."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys

import pytest
from flask import abort

from fundraiser import create_app
from fundraiser.config import ConfigError
from tests.conftest import REPO_ROOT

# Nothing listens on port 1 of loopback: the connection is refused at once, a real outage.
DOWN_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1"


@pytest.fixture
def app_without_database(app_config):
    return create_app(app_config | {"SQLALCHEMY_DATABASE_URI": DOWN_DATABASE_URL})


def assert_in_site_look(response, title: str) -> None:
    """An HTML page with the site's header, stylesheet and main landmark, and no internals."""
    body = html.unescape(response.get_data(as_text=True))
    assert response.mimetype == "text/html"
    assert '<link rel="stylesheet" href="/static/css/site.' in body
    assert 'class="site-header"' in body and '<main id="main"' in body
    assert f'<h1 id="error-title">{title}</h1>' in body
    assert_no_internals(body)


def assert_no_internals(body: str) -> None:
    for leak in ("Traceback", 'File "', "sqlalchemy", "psycopg", "Werkzeug Debugger"):
        assert leak not in body, leak
    assert not re.search(r"line \d+", body)


def test_load_balancer_sees_healthy_service_with_its_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_load_balancer_sees_503_json_when_the_database_is_down(app_without_database):
    response = app_without_database.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "unavailable", "database": "OperationalError"}
    assert_no_internals(response.get_data(as_text=True))


def test_reader_gets_a_friendly_503_page_when_the_database_is_down(app_without_database):
    response = app_without_database.test_client().get("/")
    assert response.status_code == 503
    assert_in_site_look(response, "We’re briefly unavailable")


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert_in_site_look(response, "We couldn’t find that page")


def test_wrong_method_is_a_friendly_405_that_names_the_allowed_ones(client):
    response = client.delete("/campaigns/anything")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert_in_site_look(response, "That isn’t allowed here")


@pytest.fixture
def app_with_failing_routes(app_config):
    """A fresh app with test-only routes that fail in each way a request can."""
    application = create_app(app_config | {"TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @application.get("/test-only/abort/<int:code>")
    def abort_with(code: int):
        abort(code)

    @application.get("/test-only/crash")
    def crash():
        raise RuntimeError("secret internal detail: password=hunter2")

    @application.get("/api/test-only/crash")
    def api_crash():
        raise RuntimeError("secret internal detail: password=hunter2")

    return application


@pytest.mark.parametrize(
    "code,title",
    [
        (400, "That request didn’t make sense"),
        (403, "You can’t do that here"),
        (404, "We couldn’t find that page"),
        (429, "Slow down a little"),
    ],
)
def test_refused_requests_get_error_pages_in_the_site_look(app_with_failing_routes, code, title):
    response = app_with_failing_routes.test_client().get(f"/test-only/abort/{code}")
    assert response.status_code == code
    assert_in_site_look(response, title)


def test_too_many_requests_page_asks_the_reader_to_wait(app_with_failing_routes):
    response = app_with_failing_routes.test_client().get("/test-only/abort/429")
    assert "Please wait a minute and try again." in response.get_data(as_text=True)


def test_a_crash_shows_a_500_page_and_never_the_traceback(app_with_failing_routes):
    response = app_with_failing_routes.test_client().get("/test-only/crash")
    assert response.status_code == 500
    assert_in_site_look(response, "Something went wrong on our side")
    assert "hunter2" not in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)


def test_a_crash_behind_the_api_is_a_500_json_without_details(app_with_failing_routes):
    response = app_with_failing_routes.test_client().get("/api/test-only/crash")
    assert response.status_code == 500
    body = response.get_json()
    assert body["status"] == 500 and body["error"] == "Something went wrong on our side"
    assert "hunter2" not in response.get_data(as_text=True)
    assert_no_internals(response.get_data(as_text=True))


PRODUCTION_READY = {
    "PRODUCTION": True,
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "STRIPE_DEMO_MODE": False,
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
}


@pytest.mark.parametrize(
    "secret", [None, "", "dev", "change-me", "too-short-but-not-a-placeholder"]
)
def test_production_refuses_to_start_without_a_real_secret_key(secret):
    with pytest.raises(ConfigError, match="SECRET_KEY") as refused:
        create_app(PRODUCTION_READY | {"SECRET_KEY": secret})
    assert "DATABASE_URL" not in str(refused.value)  # it names only what is missing


def test_production_starts_with_everything_it_needs():
    application = create_app(PRODUCTION_READY | {"SECRET_KEY": "k" * 40})
    assert application.config["PRODUCTION"] is True


def test_production_names_every_missing_setting():
    with pytest.raises(ConfigError) as refused:
        create_app({"PRODUCTION": True, "SECRET_KEY": None, "STRIPE_DEMO_MODE": True})
    message = str(refused.value)
    for name in ("SECRET_KEY", "DATABASE_URL", "STRIPE_SECRET_KEY"):
        assert name in message


def test_app_env_production_from_the_environment_refuses_to_start(tmp_path):
    # A clean environment: only what Python needs, plus production. SECRET_KEY is set but
    # empty so a developer's own .env (which load_dotenv would read) cannot supply one.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "APP_ENV": "production",
        "SECRET_KEY": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from fundraiser import create_app; create_app()"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ConfigError: Refusing to start in production without: SECRET_KEY" in result.stderr
