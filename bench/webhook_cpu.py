"""CPU of the webhook endpoint per `invoice.paid`, queued and inline, beside hello-world's.

`python -m bench.webhook_cpu [N] [--inline M] [--profile FILE]` seeds N + M paid monthly
pledges in the simulator (its own process, as in the `webhooks` case) and our pledges table,
then calls the production app (production configuration, PostgreSQL, Redis) in this process
as gunicorn does, with a WSGI environ per request: first `bench/hello.py`'s `GET /` N times
(the baseline), then each first invoice's `invoice.paid`, signed as Stripe signs it, once to
the app queueing events (WEBHOOK_APPLY=queue: N posts) and once to the app applying them
(WEBHOOK_APPLY=inline: M posts). It prints the CPU time per request of each (from
`time.process_time`, so a loaded box inflates it less than wall time; this process only:
PostgreSQL, Redis and the simulator are not in it, nor gunicorn's HTTP parsing). With
`--profile`, cProfile (CPU timer) writes the queued posts' stats to FILE. Uses the bench
database and Redis as the cases do (`BENCH_DATABASE_URL`, `BENCH_REDIS_URL`); needs no wrk.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import time
from dataclasses import dataclass

from sqlalchemy import text

from bench import infra
from bench.cases.webhooks import CONNECTIONS, WORKERS, signed

#: Requests before each measured loop (connections, caches, compiled statements).
WARM_UP = 20
#: Requests per timed block (the best block is reported beside the mean).
BLOCK = 50


def environ(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> dict:
    """A WSGI environ as gunicorn builds one for a keep-alive request from 127.0.0.1."""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "HTTP_ACCEPT": "*/*; q=0.5, application/xml",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        env[key if key in ("CONTENT_TYPE",) else "HTTP_" + key] = value
    return env


def call(app, env: dict) -> tuple[str, bytes]:
    """One request through the WSGI app, its body read as a server would."""
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = status

    chunks = app(env, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answer["status"], body


def post_environs(posts: list[tuple[dict, bytes]]) -> list[dict]:
    return [environ("POST", "/stripe/webhook", body, headers) for headers, body in posts]


def gunicorn_cpu_each(spec: str, env: dict, folder, path: str, posts: list) -> float:
    """CPU seconds per request of the `webhooks` case's gunicorn workers (gunicorn.conf.py,
    their threads) answering `posts` ((headers, body), each POSTed once) over its connections,
    or with no posts wrk's GETs for 5 s, from /proc: HTTP parsing, the access log and thread
    hand-offs included."""
    with infra.gunicorn(spec, env, folder, workers=WORKERS) as server:
        pids = server.worker_pids()
        url = server.url + path
        if posts:
            infra.post_each_once(url, posts[:WARM_UP], CONNECTIONS)
            cpu = infra.cpu_seconds(pids)
            load = infra.post_each_once(url, posts[WARM_UP:], CONNECTIONS)
            count = len(posts) - WARM_UP
        else:
            infra.wrk(url, CONNECTIONS, 1, warmup=0)
            cpu = infra.cpu_seconds(pids)
            load = infra.wrk(url, CONNECTIONS, 5, warmup=0)
            count = load.requests
        cpu = infra.cpu_seconds(pids) - cpu
    assert load.errors == 0, load.errors
    return cpu / count


@dataclass
class Cpu:
    """CPU seconds per request: over the whole run, and in its least disturbed block."""

    mean: float
    best: float

    def __str__(self) -> str:
        return f"{1000 * self.mean:.3f} ms (best block of {BLOCK}: {1000 * self.best:.3f} ms)"


def cpu_each(app, environs: list[dict], expect: bytes, profiler=None) -> Cpu:
    """CPU per request over `environs` (each answered 200 with `expect` in it). A loaded box
    inflates CPU time too (caches, other processes' interrupts); the best block of BLOCK
    requests is the steadier figure for comparing two versions of the code."""
    answers, blocks = [], []
    if profiler:
        profiler.enable()
    for start in range(0, len(environs), BLOCK):
        cpu = time.process_time()
        for env in environs[start : start + BLOCK]:
            answers.append(call(app, env))
        blocks.append((time.process_time() - cpu, len(environs[start : start + BLOCK])))
    if profiler:
        profiler.disable()
    for status, body in answers:
        assert status.startswith("200") and expect in body, (status, body[:300])
    best = min(seconds / count for seconds, count in blocks if count == BLOCK or len(blocks) == 1)
    return Cpu(sum(seconds for seconds, _ in blocks) / len(environs), best)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int, nargs="?", default=1000, help="queued posts")
    parser.add_argument("--inline", type=int, default=200, help="inline posts (0: none)")
    parser.add_argument("--profile", help="write cProfile stats (CPU time) of the queued posts")
    parser.add_argument(
        "--gunicorn",
        action="store_true",
        help="also through gunicorn as the webhooks case runs it (wrk needed)",
    )
    args = parser.parse_args()
    seed_app, folder, prefix = infra.fresh_run("webhook-cpu")
    queued_n, inline_n = args.count + WARM_UP, args.inline + WARM_UP if args.inline else 0
    served_n = queued_n if args.gunicorn else 0
    with infra.simulator(queued_n + inline_n + served_n, folder) as sim:
        infra.seed_pledges(seed_app, sim.subscriptions)
        os.environ.update(
            infra.app_env(STRIPE_API_BASE=sim.url, MAIL_OUTBOX=str(folder / "outbox"))
        )
        from bench.hello import app as hello
        from fundraiser import create_app
        from fundraiser.extensions import db

        overrides = {
            "CACHE_KEY_PREFIX": prefix,
            "RATELIMIT_KEY_PREFIX": prefix,
            "RQ_QUEUE": prefix + "jobs",
        }
        queued_app = create_app({**overrides, "WEBHOOK_APPLY": "queue"})
        inline_app = create_app({**overrides, "WEBHOOK_APPLY": "inline"})
        # The JSON request log goes to a file, as gunicorn's stderr would (not the terminal).
        log_file = open(folder / "app.log", "w")  # noqa: SIM115 - closed below
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(log_file)
        rows = sim.subscriptions
        queued_posts = post_environs(signed(rows[:queued_n]))
        inline_posts = post_environs(signed(rows[queued_n : queued_n + inline_n]))
        served_posts = signed(rows[queued_n + inline_n :])
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        try:
            hellos = [environ("GET", "/") for _ in range(args.count + WARM_UP)]
            cpu_each(hello, hellos[:WARM_UP], b"Hello")
            hello_cpu = cpu_each(hello, hellos[WARM_UP:], b"Hello")
            cpu_each(queued_app, queued_posts[:WARM_UP], b'"queued":true')
            queued_cpu = cpu_each(queued_app, queued_posts[WARM_UP:], b'"queued":true', profiler)
            inline_cpu = None
            if inline_posts:
                cpu_each(inline_app, inline_posts[:WARM_UP], b'"handled":true')
                inline_cpu = cpu_each(inline_app, inline_posts[WARM_UP:], b'"handled":true')
            served = {}
            if served_posts:
                env = {**os.environ, "WEBHOOK_APPLY": "queue"}
                served["hello"] = gunicorn_cpu_each("bench.hello:app", env, folder, "/", [])
                spec = infra.app_spec(prefix)
                served["queued"] = gunicorn_cpu_each(
                    spec, env, folder, "/stripe/webhook", served_posts
                )
            with queued_app.app_context():
                waiting = db.session.execute(
                    text("SELECT count(*) FROM stripe_events WHERE applied_at IS NULL")
                ).scalar()
                db.session.remove()
        finally:
            infra.empty_job_queue(prefix)
            log_file.close()
        if profiler:
            profiler.dump_stats(args.profile)
    assert waiting == queued_n + served_n, (waiting, queued_n + served_n)
    print(f"hello-world GET /: CPU {hello_cpu} per request ({args.count} requests)")
    print(
        f"queued invoice.paid: CPU {queued_cpu} per event ({args.count} events,"
        f" {waiting} waiting afterwards), {queued_cpu.mean / hello_cpu.mean:.1f}x hello-world"
        + (" (profiled: CPU inflated)" if profiler else "")
    )
    if inline_cpu is not None:
        print(
            f"inline invoice.paid: CPU {inline_cpu} per event ({args.inline} events),"
            f" {inline_cpu.mean / hello_cpu.mean:.1f}x hello-world"
        )
    if served:
        hello_ms, queued_ms = 1000 * served["hello"], 1000 * served["queued"]
        print(
            f"through gunicorn ({WORKERS} workers, {CONNECTIONS} connections): hello-world GET /"
            f" {hello_ms:.3f} ms,"
            f" queued invoice.paid {queued_ms:.2f} ms per request ({args.count} events)"
        )
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
