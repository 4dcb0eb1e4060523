"""Shared fixtures: the app on SQLite or PostgreSQL, a live server, the Stripe simulator."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from fundraiser import create_app
from fundraiser.extensions import db

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_ARTICLE = REPO_ROOT.parent / "shared" / "seed" / "000_aef70841e1f31376.txt"
FIXTURES3 = REPO_ROOT.parent / "shared" / "stripe" / "fixtures3.json"
WEBHOOK_SECRET = "whsec_test_secret"
BASE_URL = "http://localhost"


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host in {"localhost"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_network_beyond_loopback():
    """Refuse every connection that is not to this machine: tests never reach the internet."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise RuntimeError(f"tests may only connect to loopback, not {address!r}")
        return real_connect(sock, address)

    socket.socket.connect = guarded_connect
    yield
    socket.socket.connect = real_connect


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def app_config(tmp_path_factory) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path_factory).replace(
            "postgresql://", "postgresql+psycopg://"
        ),
        "BASE_URL": BASE_URL,
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "REDIS_URL": None,
        "MAIL_SERVER": None,
        "MAIL_OUTBOX": str(tmp_path_factory.mktemp("outbox")),
        "MEDIA_DIR": str(tmp_path_factory.mktemp("media")),
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_SECRET_KEY": "sk_test_fundraiser",
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # replaced by the simulator fixture
        "STRIPE_MAX_RETRIES": 0,
        "STRIPE_TIMEOUT_SECONDS": 10,
        "LANDING_MAX_AGE": 30,
        # Tests read the people counts right after booking the gifts behind them.
        "OVERVIEW_CACHE_SECONDS": 0,
        # PayPal as configured in production; tests/channels points the verifier at the stand-in.
        "PAYPAL_DEMO_MODE": False,
        "PATREON_DEMO_MODE": False,
        "PAYPAL_RECEIVER_EMAIL": "donations@paypal-simulator.test",
        "PAYPAL_RECEIVER_ID": None,
        "PAYPAL_IPN_VERIFY_URL": "http://127.0.0.1:9/cgi-bin/webscr",
    }


@pytest.fixture(scope="session")
def app(app_config):
    application = create_app(app_config)
    with application.app_context():
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
    return application


def _drop_alembic_version() -> None:
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture(autouse=True)
def clean_database(request):
    """Every test starts with empty tables (the schema is made once per run)."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        empty_all_tables()
    abuse_counters = application.extensions.get("fundraiser_abuse_storage")
    if abuse_counters is not None:
        abuse_counters.reset()  # one test's attack must not put the next one under attack
    forget_process_caches(application)
    yield
    with application.app_context():
        db.session.remove()


def forget_process_caches(application) -> None:
    """The emptied tables reuse campaign ids: this process's cached figures and pages (kept
    as in production) would otherwise describe the previous test's campaign."""
    from fundraiser.cache import get_cache, page_cache, snapshots

    for cache in (page_cache(application), snapshots(application)):
        cache.clear()
    shared = get_cache(application)
    if not shared.shared:
        shared.clear()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seed_path() -> Path:
    if not SEED_ARTICLE.exists():
        pytest.skip("../shared/seed is not beside the repository")
    return SEED_ARTICLE


@pytest.fixture
def campaign(app, seed_path):
    """The seed article imported as the default campaign, as `make run` does."""
    from fundraiser.campaigns.services import import_campaign

    with app.app_context():
        result = import_campaign(seed_path, "kazakhstan", "5000", "EUR", make_default=True)
        db.session.commit()
        slug = result.campaign.slug
    return slug


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stripe_server(app, live_server):
    """The bundled Stripe simulator on loopback, delivering signed webhooks to the live app."""
    from simulators.stripe import start_simulator

    handle = start_simulator(
        webhook_url=f"{live_server.url}/stripe/webhook",
        webhook_secret=WEBHOOK_SECRET,
        retry_delays=(0.1, 0.3, 0.6, 1.0),
        settlement_currency=app.config["SETTLEMENT_CURRENCY"],
    )
    app.config["STRIPE_API_BASE"] = handle.url
    yield handle
    handle.stop()


@pytest.fixture
def stripe_sim(app, stripe_server):
    """A fresh simulator state for this test; pending deliveries are drained first and after."""
    stripe_server.flush(timeout=15)
    stripe_server.sim.reset()
    yield stripe_server
    stripe_server.flush(timeout=15)
