"""Two app processes sharing PostgreSQL and Redis behave as one service (any request, any host).

Each process is gunicorn with the project's gunicorn.conf.py on its own port. The test
database is created for this module and dropped after it; Redis keys, the RQ queue and the
client addresses (X-Forwarded-For through PROXY_FIX_HOPS=1) are unique to the run, so
other suites sharing the same Redis never meet ours.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, make_url, select, text

from tests.conftest import REPO_ROOT

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
WEBHOOK_SECRET = "whsec_scaleout"
PASSWORD = "correct horse battery staple 42"
RUN = secrets.token_hex(4)

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="two processes need a shared PostgreSQL (set TEST_DATABASE_URL)",
)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _client_address() -> str:
    """A made-up client address, so rate-limit counters are this test's alone."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest.fixture(scope="module")
def database_url():
    """A fresh database on the TEST_DATABASE_URL server, dropped afterwards."""
    import psycopg

    server = make_url(TEST_DATABASE_URL)
    name = f"{server.database}_scaleout_{RUN}"
    admin_url = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Cluster:
    a: str
    b: str
    app: object  # an in-test app on the same database, for setup and checks
    stripe: object  # the simulator handle
    cache_prefix: str

    def pending_events(self) -> int:
        from fundraiser.extensions import db
        from fundraiser.models import StripeEvent

        with self.app.app_context():
            query = select(func.count()).where(StripeEvent.applied_at.is_(None))
            count = db.session.scalar(query)
            db.session.remove()
        return count

    def ledger_rows(self, **where) -> int:
        from fundraiser.extensions import db
        from fundraiser.models import LedgerEntry

        with self.app.app_context():
            query = select(func.count()).select_from(LedgerEntry).filter_by(**where)
            return db.session.scalar(query)


class AppProcess:
    """One gunicorn master with one gthread worker, stopped (and reaped) whatever happens."""

    def __init__(self, port: int, env: dict, overrides: dict, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO_ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            f"fundraiser:create_app({overrides!r})",
        ]
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.url} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


class WorkerProcess:
    """`flask worker`: the RQ worker that applies queued webhook events and sends mail."""

    def __init__(self, env: dict, overrides: dict, log_path: Path) -> None:
        self.log_path = log_path
        app_spec = f"fundraiser:create_app({overrides!r})"
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "flask", "--app", app_spec, "worker", "--simple"],
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.log.close()


def _prepare_database(app) -> None:
    from fundraiser.campaigns.services import import_campaign
    from fundraiser.extensions import db
    from fundraiser.models import Supporter, utcnow
    from fundraiser.passwords import hash_password
    from tests.conftest import SEED_ARTICLE

    with app.app_context():
        db.create_all()
        import_campaign(SEED_ARTICLE, "kazakhstan", "5000", "EUR", make_default=True)
        for name in ("ana", "ben"):
            db.session.add(
                Supporter(
                    email=f"{name}@example.org",
                    password_hash=hash_password(PASSWORD),
                    email_verified_at=utcnow(),
                )
            )
        db.session.commit()


@pytest.fixture(scope="module")
def cluster(database_url, tmp_path_factory):
    import redis

    from fundraiser import create_app
    from fundraiser.extensions import db
    from simulators.stripe import start_simulator
    from tests.conftest import SEED_ARTICLE

    if not SEED_ARTICLE.exists():
        pytest.skip("../shared/seed is not beside the repository")
    if not _port_open(6379):
        pytest.skip("no Redis on 127.0.0.1:6379")
    stripe = start_simulator(webhook_url=None, webhook_secret=WEBHOOK_SECRET)
    prefix = f"scaleout-{RUN}:"
    local = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url.replace(
                "postgresql://", "postgresql+psycopg://"
            ),
            "REDIS_URL": None,
            "RATELIMIT_ENABLED": False,
        }
    )
    _prepare_database(local)
    folder = tmp_path_factory.mktemp("scaleout")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RATELIMIT_ENABLED": "1",
        "SECRET_KEY": "scaleout-secret-key-" + "x" * 40,
        "STRIPE_SECRET_KEY": "sk_test_scaleout",
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_MAX_RETRIES": "0",
        "PROXY_FIX_HOPS": "1",
        "LOG_FORMAT": "text",
        "MAIL_OUTBOX": str(folder / "outbox"),
        "WEB_CONCURRENCY": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    overrides = {
        "CACHE_KEY_PREFIX": prefix,
        "RATELIMIT_KEY_PREFIX": prefix,
        "RQ_QUEUE": prefix + "jobs",
    }
    processes = [
        AppProcess(_free_port(), env, overrides, folder / f"app-{n}.log") for n in ("a", "b")
    ]
    processes.append(WorkerProcess(env, overrides, folder / "worker.log"))
    try:
        deadline = time.monotonic() + 20
        for process in processes[:2]:
            process.wait_ready(deadline)
        yield Cluster(processes[0].url, processes[1].url, local, stripe, prefix)
    finally:
        for process in processes:
            process.stop()
        stripe.stop()
        with local.app_context():
            db.engine.dispose()
        connection = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(connection.scan_iter(f"*{prefix}*"))
        if keys:
            connection.delete(*keys)


def _wait_until(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time limit"
        time.sleep(0.05)


def _csrf_token(session: requests.Session, url: str, address: str) -> str:
    page = session.get(url, headers={"X-Forwarded-For": address}, timeout=10)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    match = match or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def _log_in(session: requests.Session, url: str, email: str, address: str):
    token = _csrf_token(session, f"{url}/account/login", address)
    return session.post(
        f"{url}/account/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": address, "Origin": url},
        allow_redirects=False,
        timeout=10,
    )


def _signed_in(session: requests.Session, url: str, address: str) -> bool:
    response = session.get(
        f"{url}/account", headers={"X-Forwarded-For": address}, allow_redirects=False, timeout=10
    )
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_rate_limit_counts_posts_to_both_processes_together(cluster):
    """Sign-in posts are limited to 5 a minute per address, wherever they land."""
    address = _client_address()
    session = requests.Session()
    token = _csrf_token(session, f"{cluster.a}/account/login", address)
    email = f"ana-{uuid.uuid4().hex[:12]}@example.org"
    statuses = []
    for attempt in range(6):
        url = cluster.a if attempt % 2 == 0 else cluster.b
        response = session.post(
            f"{url}/account/login",
            # A fresh email each run: wrong passwords also count per account (for 15 minutes, in
            # the same Redis), and this test is about the per-address limit.
            data={"csrf_token": token, "email": email, "password": "wrong"},
            headers={"X-Forwarded-For": address, "Origin": url},
            allow_redirects=False,
            timeout=10,
        )
        statuses.append(response.status_code)
    assert 429 not in statuses[:5], statuses
    assert statuses[5] == 429, statuses  # each process alone has seen only three


def test_session_made_on_one_process_works_on_the_other_until_logged_out_everywhere(cluster):
    address = _client_address()
    phone, laptop = requests.Session(), requests.Session()
    assert _log_in(phone, cluster.a, "ben@example.org", address).status_code == 302
    assert _log_in(laptop, cluster.b, "ben@example.org", address).status_code == 302
    assert _signed_in(phone, cluster.b, address) and _signed_in(laptop, cluster.a, address)

    token = _csrf_token(laptop, f"{cluster.a}/account/settings", address)
    response = laptop.post(
        f"{cluster.b}/account/logout-everywhere",
        data={"csrf_token": token},
        headers={"X-Forwarded-For": address, "Origin": cluster.b},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    assert not _signed_in(phone, cluster.a, address)
    assert not _signed_in(phone, cluster.b, address)


def _paid_subscription(stripe, amount_minor: int) -> str:
    """A monthly pledge paid at Stripe (the simulator); its events are stored, not sent."""
    from simulators.stripe import flows, shapes
    from simulators.stripe.cards import check_card

    sim = stripe.sim
    with sim.transaction():
        product = flows.create_product(sim, "Monthly support")
        price = flows.create_price(
            sim, "eur", amount_minor, product["id"], shapes.recurring("month")
        )
        customer = flows.create_customer(sim, None, None, emit=False)
        card = check_card("4242424242424242", "12/34", "123", sim.now())
        method = flows.create_payment_method(sim, card, None, None, customer["id"])
        options = {"metadata": {"campaign": "kazakhstan"}}
        subscription = flows.start_subscription(sim, customer, price, method, options)
    return subscription["id"]


def _events_for(stripe, subscription_id: str, *types: str) -> list[dict]:
    found = []
    for event in stripe.sim.events():
        obj = event["data"]["object"]
        owner = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
        if event["type"] in types and subscription_id in (obj.get("id"), owner):
            found.append(event)
    return found


def _post_event(url: str, event: dict) -> requests.Response:
    from simulators.stripe import sign

    payload = json.dumps(event).encode()
    return requests.post(
        f"{url}/stripe/webhook",
        data=payload,
        headers={
            "Content-Type": "application/json",
            "Stripe-Signature": sign(payload, WEBHOOK_SECRET),
        },
        timeout=30,
    )


def test_same_event_sent_to_both_processes_at_once_counts_once(cluster):
    subscription_id = _paid_subscription(cluster.stripe, 1500)
    events = _events_for(
        cluster.stripe, subscription_id, "invoice.paid", "invoice.payment_succeeded"
    )
    assert len(events) == 2
    # Four deliveries at the same instant: each event to each process.
    jobs = [(url, event) for event in events for url in (cluster.a, cluster.b)]
    start = threading.Barrier(len(jobs))
    responses: list = [None] * len(jobs)

    def deliver(index: int) -> None:
        url, event = jobs[index]
        start.wait()
        responses[index] = _post_event(url, event)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]
    for event in events:
        first_times = [
            not r.json()["duplicate"]
            for (_, e), r in zip(jobs, responses, strict=True)
            if e["id"] == event["id"]
        ]
        assert sorted(first_times) == [False, True]
    invoice_id = events[0]["data"]["object"]["id"]
    _wait_until(lambda: cluster.ledger_rows(invoice_id=invoice_id) == 1)  # the worker applies
    _wait_until(lambda: cluster.pending_events() == 0)
    assert cluster.ledger_rows(invoice_id=invoice_id) == 1

    from fundraiser.extensions import db

    with cluster.app.app_context():
        ids = [e["id"] for e in events]
        stored = db.session.execute(
            text("SELECT count(*) FROM stripe_events WHERE id = ANY(:ids)"), {"ids": ids}
        ).scalar()
        pledges = db.session.execute(
            text("SELECT count(*) FROM pledges WHERE stripe_subscription_id = :s"),
            {"s": subscription_id},
        ).scalar()
    assert (stored, pledges) == (2, 1)


def test_donation_recorded_by_one_process_shows_in_totals_on_the_other(cluster):
    totals_url = f"{cluster.b}/api/campaigns/kazakhstan/totals"
    before = requests.get(totals_url, timeout=10).json()["raised_minor"]
    assert requests.get(totals_url, timeout=10).json()["raised_minor"] == before
    import redis

    cached = list(redis.Redis().scan_iter(f"{cluster.cache_prefix}totals:*"))
    assert cached, "process B should have cached the totals in Redis"

    subscription_id = _paid_subscription(cluster.stripe, 2300)
    (event,) = _events_for(cluster.stripe, subscription_id, "invoice.paid")
    assert _post_event(cluster.a, event).status_code == 200
    recorded = time.monotonic()
    while (raised := requests.get(totals_url, timeout=10).json()["raised_minor"]) == before:
        assert time.monotonic() - recorded < 2, "B still shows the old total after 2 s"
        time.sleep(0.05)
    assert raised == before + 2300
