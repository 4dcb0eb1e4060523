"""Webhook ingestion: signed `invoice.paid` events for distinct payments, 2 workers, PostgreSQL.

The simulator (its own process) holds N paid subscriptions whose pledges we already know;
a Python load generator (16 connections) posts each first invoice's `invoice.paid` once,
signed as Stripe signs it. The handler fetches the invoice, the payment intent and the
subscription back from the simulator, as it would from Stripe. Afterwards the ledger must
hold exactly one row per payment.
"""

from __future__ import annotations

import json
import secrets

import stripe
from sqlalchemy import text

from bench.infra import (
    WEBHOOK_SECRET,
    app_env,
    app_spec,
    cpu_seconds,
    empty_job_queue,
    ensure_database,
    gunicorn,
    local_app,
    post_each_once,
    postgres_pids,
    reset_database,
    seed_pledges,
    simulator,
    workdir,
    wrk,
)
from bench.report import Row

WORKERS = 2
CONNECTIONS = 16


def ledger_check(app, invoices: list[str]) -> tuple[int, int, int]:
    """(payment rows for these invoices, distinct invoices among them, stripe events)."""
    from fundraiser.extensions import db

    with app.app_context():
        rows, distinct = db.session.execute(
            text(
                "SELECT count(*), count(DISTINCT invoice_id) FROM ledger_entries "
                "WHERE kind = 'payment' AND invoice_id = ANY(:ids)"
            ),
            {"ids": invoices},
        ).one()
        events = db.session.execute(text("SELECT count(*) FROM stripe_events")).scalar()
        db.session.remove()
    return rows, distinct, events


def run(quick: bool = False) -> list[Row]:
    count = 600 if quick else 4000
    ensure_database()
    app = local_app()
    reset_database(app)
    prefix = f"bench-{secrets.token_hex(3)}:"
    folder = workdir("webhooks")
    try:
        with simulator(count, folder) as sim:
            seed_pledges(app, sim.subscriptions)
            env = app_env(STRIPE_API_BASE=sim.url)
            with gunicorn("bench.hello:app", env, folder, workers=WORKERS) as hello:
                base = wrk(hello.url + "/", CONNECTIONS, 3 if quick else 10)
            bodies = []
            for row in sim.subscriptions:
                body = json.dumps(row["invoice_paid_event"], separators=(",", ":"))
                signature = stripe.WebhookSignature.generate_signature_header(body, WEBHOOK_SECRET)
                headers = {"Content-Type": "application/json", "Stripe-Signature": signature}
                bodies.append((headers, body.encode()))
            with gunicorn(app_spec(prefix), env, folder, workers=WORKERS) as server:
                app_pids = server.worker_pids()
                watched = {"app": app_pids, "postgres": postgres_pids(), "sim": [sim.process.pid]}
                before = {name: cpu_seconds(pids) for name, pids in watched.items()}
                load = post_each_once(server.url + "/stripe/webhook", bodies, CONNECTIONS)
                cpu = {name: cpu_seconds(pids) - before[name] for name, pids in watched.items()}
    finally:
        empty_job_queue(prefix)
    rows_found, distinct, events = ledger_check(app, [s["invoice"] for s in sim.subscriptions])
    events_per_second = count / load.seconds
    exactly_once = rows_found == distinct == count
    ms_per_event = {name: 1000 * seconds / count for name, seconds in cpu.items()}
    return [
        Row(
            "webhooks",
            f"invoice.paid events/s ({WORKERS} workers, {count:,} payments)",
            events_per_second,
            "ev/s",
            base.requests_per_second,
            "hello-world req/s",
            ">= 300 ev/s",
            events_per_second >= 300 and load.errors == 0,
            note=(
                f"CPU per event: app {ms_per_event['app']:.1f} ms, PostgreSQL (all backends)"
                f" {ms_per_event['postgres']:.1f} ms, simulator {ms_per_event['sim']:.1f} ms"
                f"; {load.errors} non-2xx answers or connection errors"
            ),
            extra={"cpu_ms_per_event": ms_per_event, "wrk_requests": load.requests},
        ),
        Row("webhooks", "webhook p99", load.p99_ms, "ms", base.p99_ms, "hello-world p99"),
        Row(
            "webhooks",
            "ledger rows per payment afterwards",
            rows_found / count,
            "",
            target="exactly 1",
            met=exactly_once,
            note=f"{rows_found} rows, {distinct} distinct invoices, {events} events recorded",
        ),
    ]
