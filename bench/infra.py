"""What every benchmark needs: the bench database, gunicorn and nginx on 127.0.0.1, wrk, /proc.

Everything started here is stopped by its context manager, whatever happens, and every wait
has a deadline, so a run can never hang or leave servers behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEY = "bench-secret-key-" + "b" * 40
WEBHOOK_SECRET = "whsec_bench"
SEED_ARTICLE = next(
    p
    for p in (
        REPO.parent / "shared/seed/000_aef70841e1f31376.txt",
        REPO / "content/seed-article.txt",
    )
    if p.exists()
)
CAMPAIGN = "kazakhstan"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workdir(name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    path.chmod(0o755)  # nginx workers (nobody) read the static copy from here
    return path


def fresh_run(name: str):
    """What an in-process harness starts from: an app on an emptied bench database, a work
    folder and a per-run key prefix. (app, folder, prefix)"""
    ensure_database()
    app = local_app()
    reset_database(app)
    return app, workdir(name), f"bench-{secrets.token_hex(3)}:"


# --- the database --------------------------------------------------------------------


def ensure_database(url: str = DATABASE_URL) -> None:
    """Create the bench database if it is missing (never touches any other database)."""
    import psycopg
    from sqlalchemy import make_url

    target = make_url(url)
    admin = target.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{target.database}"')


def local_app(url: str = DATABASE_URL):
    """An app object in this process, on the bench database, for seeding and checking."""
    from fundraiser import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
            "REDIS_URL": None,
            "RATELIMIT_ENABLED": False,
            "LOG_FORMAT": "text",
            "SECRET_KEY": SECRET_KEY,
        }
    )


def reset_database(app) -> None:
    """Empty schema, then the seed article as the default campaign (as `make seed` does)."""
    from sqlalchemy import text

    from fundraiser.campaigns.services import import_campaign
    from fundraiser.extensions import db

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        db.create_all()
        import_campaign(SEED_ARTICLE, CAMPAIGN, "5000", "EUR", make_default=True)
        db.session.commit()


def copy_rows(app, table: str, columns: list[str], rows) -> None:
    """Bulk-load rows (an iterable of tuples) with PostgreSQL's COPY."""
    from fundraiser.extensions import db

    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.driver_connection.cursor()
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.driver_connection.commit()
        finally:
            raw.close()
        with db.engine.begin() as connection:
            from sqlalchemy import text

            connection.execute(text(f"ANALYZE {table}"))


def flush_redis(prefix: str) -> None:
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    keys = list(connection.scan_iter(f"*{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        connection.delete(*keys[start : start + 1000])


# --- processes -----------------------------------------------------------------------


def app_env(**extra: str) -> dict[str, str]:
    """The environment of a production host, pointed at the bench database and Redis."""
    env = {
        **os.environ,
        "APP_ENV": "production",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": SECRET_KEY,
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "SESSION_COOKIE_SECURE": "0",
        "RATELIMIT_ENABLED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def worker_pids(self) -> list[int]:
        return children(self.process.pid)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _stop(process: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_http(server: Server, path: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            if requests.get(server.url + path, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.url} did not come up:\n{server.log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def gunicorn(
    app_spec: str, env: dict, folder: Path, workers: int | None = None, ready: str = "/"
) -> Iterator[Server]:
    """gunicorn with the project's gunicorn.conf.py (workers from the CPU count unless given)."""
    port = free_port()
    env = dict(env)
    env["GUNICORN_ACCESSLOG"] = str(folder / f"access-{port}.log")
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    else:
        env.pop("WEB_CONCURRENCY", None)
    log_path = folder / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py")]
    command += ["--bind", f"127.0.0.1:{port}", app_spec]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_http(server, ready, time.monotonic() + 30)
        yield server
    finally:
        _stop(process)


@contextlib.contextmanager
def rq_workers(
    spec: str, env: dict, folder: Path, count: int, burst: bool = True
) -> Iterator[list]:
    """`flask worker --simple` processes (with --burst each stops once the queue is empty)."""
    command = [sys.executable, "-m", "flask", "--app", spec, "worker", "--simple"]
    command += ["--burst"] if burst else []
    processes = []
    try:
        for n in range(count):
            with open(folder / f"rq-worker-{n}.log", "wb") as log:
                processes.append(
                    subprocess.Popen(  # noqa: S603
                        command,
                        cwd=REPO,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield processes
    finally:
        for process in processes:
            _stop(process, signal.SIGTERM)


def app_spec(prefix: str) -> str:
    """The production app, with this run's own Redis key prefixes and job queue."""
    overrides = {
        "CACHE_KEY_PREFIX": prefix,
        "RATELIMIT_KEY_PREFIX": prefix,
        "RQ_QUEUE": prefix + "jobs",
    }
    return f"fundraiser:create_app({overrides!r})"


NGINX_MAIN = """
worker_processes auto;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy_temp;
    fastcgi_temp_path {folder}/fastcgi_temp;
    uwsgi_temp_path {folder}/uwsgi_temp;
    scgi_temp_path {folder}/scgi_temp;
    {body}
}}
"""


@contextlib.contextmanager
def nginx(body: str, folder: Path, port: int) -> Iterator[Server]:
    if not shutil.which("nginx"):
        raise RuntimeError("nginx is not installed (apt-get install -y nginx-light)")
    folder.mkdir(parents=True, exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_MAIN.format(folder=folder, user=user, body=body))
    log_path = folder / "nginx-stderr.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            ["nginx", "-c", str(conf), "-p", str(folder)],  # noqa: S607
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_http(server, "/", time.monotonic() + 10)
        yield server
    finally:
        _stop(process, signal.SIGQUIT)


# --- load and measurements -----------------------------------------------------------


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    seconds: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    connections: int = 32,
    seconds: int = 10,
    threads: int = 2,
    script: Path | None = None,
    warmup: int = 2,
    script_args: tuple[str, ...] = (),
) -> Load:
    """wrk from Debian, with a short unmeasured warm-up; bounded by its own -d and a timeout."""
    if warmup:
        _run_wrk(url, connections, warmup, threads, script, script_args)
    return _run_wrk(url, connections, seconds, threads, script, script_args)


def _run_wrk(url, connections, seconds, threads, script, script_args=()) -> Load:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "5s"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s|m)", output)
    duration = float(done.group(2)) * {"s": 1, "ms": 0.001, "m": 60}[done.group(3)]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return Load(
        requests_per_second=rps,
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        requests=int(done.group(1)),
        errors=errors,
        seconds=duration,
    )


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """{pid: user + system CPU seconds so far} of those of these processes still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes (from /proc, in seconds)."""
    return sum(cpu_by_pid(pids).values())


def cpu_spent(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU seconds spent between two `cpu_by_pid` readings by the processes alive at the second
    (one that exited meanwhile drops out instead of making the sum negative)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def postgres_pids() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if stat.read_text().strip() == "postgres":
                pids.append(int(stat.parent.name))
    return pids


def redis_pids() -> list[int]:
    """The local redis-server's pid(s), for CPU accounting."""
    found = subprocess.run(["pgrep", "-x", "redis-server"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def best_of(rounds: int, runs: dict) -> dict[str, Load]:
    """Run each load in turn, `rounds` times, interleaved; keep each one's best run.

    Interleaving puts the baseline and the subject under the same background load, and the
    best run is the one least disturbed by whatever else the machine was doing.
    """
    best: dict[str, Load] = {}
    for _ in range(rounds):
        for name, run in runs.items():
            load = run()
            if name not in best or load.requests_per_second > best[name].requests_per_second:
                best[name] = load
    return best


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _idle_fraction(seconds: float) -> float:
    """The share of all CPUs' time spent idle over the next `seconds` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, all

    idle_before, all_before = sample()
    time.sleep(seconds)
    idle_after, all_after = sample()
    return (idle_after - idle_before) / max(1, all_after - all_before)


def settle(url: str = DATABASE_URL, idle: float = 0.9, limit: float = 30.0) -> tuple[float, float]:
    """Let the box go quiet before a case: PostgreSQL writes out what the last case left
    dirty (a CHECKPOINT, so it doesn't land mid-measurement), then wait until the CPUs are
    `idle` idle over a second (at most `limit` s). (seconds waited, idle fraction at the end)"""
    import psycopg
    from sqlalchemy import make_url

    started = time.monotonic()
    ensure_database(url)
    plain = make_url(url).render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection, contextlib.suppress(psycopg.Error):
        connection.execute("CHECKPOINT")  # needs a superuser or pg_checkpoint: else skipped
    quiet = _idle_fraction(1.0)
    while quiet < idle and time.monotonic() - started < limit:
        quiet = _idle_fraction(1.0)
    return time.monotonic() - started, quiet


# --- the Stripe simulator, seeded ----------------------------------------------------


@dataclass
class Simulated:
    url: str
    process: subprocess.Popen
    subscriptions: list[dict]
    seed_seconds: float


@contextlib.contextmanager
def simulator(count: int, folder: Path, events: bool = True, timeout: float = 240):
    """bench/simserver.py in its own process with `count` paid monthly pledges."""
    import json

    port = free_port()
    out = folder / "seed.json"
    command = [sys.executable, "-m", "bench.simserver", "--port", str(port)]
    command += ["--subscriptions", str(count), "--out", str(out), "--secret", WEBHOOK_SECRET]
    if not events:
        command.append("--no-events")
    log_path = folder / "simulator.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while "ready" not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        seeded = json.loads(out.read_text())
        out.unlink()
        yield Simulated(
            f"http://127.0.0.1:{port}", process, seeded["subscriptions"], seeded["seconds"]
        )
    finally:
        _stop(process, signal.SIGTERM)


def seed_pledges(app, subscriptions: list[dict]) -> None:
    """Our side of the seeded subscriptions, bulk-loaded: the paid donation intents our
    checkout made them from (named in their metadata) and active monthly pledges."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from fundraiser.campaigns.services import campaign_by_slug
    from fundraiser.extensions import db
    from fundraiser.models import DonationIntent

    with app.app_context():
        campaign_id = campaign_by_slug(CAMPAIGN).id
    now = datetime.now(UTC)
    _seed_intents(app, subscriptions, campaign_id, now)
    with app.app_context():
        query = select(DonationIntent.public_id, DonationIntent.id)
        intent_ids = {public_id: id_ for public_id, id_ in db.session.execute(query)}
    columns = [
        "stripe_subscription_id",
        "intent_id",
        "stripe_customer_id",
        "stripe_item_id",
        "campaign_id",
        "email",
        "amount_minor",
        "currency",
        "interval",
        "status",
        "next_payment_at",
        "cancel_reason",
        "stripe_synced_at",
        "created_at",
        "updated_at",
    ]
    rows = (
        (
            s["subscription"],
            intent_ids.get(s.get("intent")),
            s["customer"],
            s["item"],
            campaign_id,
            s["email"],
            s["amount_minor"],
            "EUR",
            "month",
            "active",
            datetime.fromtimestamp(s["period_end"], UTC),
            "",
            0,
            now,
            now,
        )
        for s in subscriptions
    )
    copy_rows(app, "pledges", columns, rows)


def _seed_intents(app, subscriptions: list[dict], campaign_id: int, now) -> None:
    """The paid monthly donation intents behind the seeded subscriptions, as checkout
    leaves them (status history apart)."""
    columns = {
        "campaign_id": campaign_id,
        "fee_cover_minor": 0,
        "currency": "EUR",
        "frequency": "monthly",
        "anonymous": False,
        "message": "",
        "show_amount": False,
        "message_status": "pending",
        "status": "paid",
        "language": "en",
        "created_at": now,
        "updated_at": now,
    }
    each = ["public_id", "amount_minor", "email", "name", "subscription_id", "customer_id"]
    rows = (
        (
            s["intent"],
            s["amount_minor"],
            s["email"],
            s["email"].split("@")[0].replace("patron", "Patron "),
            s["subscription"],
            s["customer"],
            *columns.values(),
        )
        for s in subscriptions
        if s.get("intent")
    )
    copy_rows(app, "donation_intents", [*each, *columns], rows)


def empty_job_queue(prefix: str) -> None:
    """Drop the mail jobs this run queued (receipts), then every key with the run's prefix."""
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(REDIS_URL)
    Queue(prefix + "jobs", connection=connection).empty()
    flush_redis(prefix)


def post_each_once(url: str, requests_: list[tuple[dict, bytes]], connections: int) -> Load:
    """POST every (headers, body) exactly once over `connections` keep-alive connections.

    A Python load generator rather than wrk: each request must go exactly once (distinct
    payments), and the run ends when the last answer is in. It costs ~0.2 ms of CPU a
    request, small beside the ~10 ms the app spends on one webhook.
    """
    import http.client
    import queue
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    todo: queue.Queue = queue.Queue()
    for item in requests_:
        todo.put(item)
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            try:
                headers, body = todo.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                connection.request("POST", parts.path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if not 200 <= status < 300:
                    errors.append(status)
        connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0

    return Load(
        requests_per_second=len(latencies) / seconds,
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        requests=len(latencies),
        errors=len(errors),
        seconds=seconds,
    )
