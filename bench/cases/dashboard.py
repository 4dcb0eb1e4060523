"""The staff dashboard and its CSV export at 10k, 100k and 1M ledger rows (seeded with COPY).

One gunicorn worker (so its memory is the export's), signed in as an admin whose second
factor is marked passed in a session cookie signed the Flask way (the TOTP step itself is
not what is measured). Pages: /staff/ (headline figures, daily chart) and /staff/donations
(the first page of the table), each timed over sequential requests after a warm-up, and
the totals query behind the landing page (uncached). After each COPY the ledger roll-ups are
rebuilt (what `flask dashboard rebuild-rollups` does; COPY bypasses the books) and timed. At
1M rows, /staff/donations.csv is streamed to nowhere and the worker's peak RSS (VmHWM) read
from /proc.
"""

from __future__ import annotations

import random
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

import requests

from bench.infra import (
    CAMPAIGN,
    app_env,
    app_spec,
    copy_rows,
    empty_job_queue,
    ensure_database,
    gunicorn,
    local_app,
    peak_rss_mb,
    reset_database,
    rss_mb,
    workdir,
)
from bench.report import Row

LEDGER_COLUMNS = [
    "stripe_ref", "external_id", "kind", "campaign_id", "payment_ref", "charge_id", "invoice_id",
    "frequency", "amount_minor", "fee_minor", "currency", "donor_email", "donor_name",
    "occurred_at", "created_at",
]  # fmt: skip


def ledger_rows(campaign_id: int, start: int, count: int):
    """Plausible rows: a year of gifts, a third monthly, one in fifty refunded, a few GBP."""
    rng = random.Random(start)
    now = datetime.now(UTC)
    for number in range(start, start + count):
        when = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
        amount = rng.choice((500, 1000, 1000, 2500, 2500, 5000, 10000))
        currency = "GBP" if number % 20 == 0 else "EUR"
        payment = f"pi_bench_{number}"
        frequency = "monthly" if number % 3 == 0 else "one-time"
        email = f"donor{number % 40_000}@bench.example"
        yield (payment, payment, "payment", campaign_id, payment, f"ch_bench_{number}", None,
               frequency, amount, amount * 3 // 100 + 25, currency, email, "", when,
               when)  # fmt: skip
        if number % 50 == 0:
            refund = f"re_bench_{number}"
            yield (refund, refund, "refund", campaign_id, payment, f"ch_bench_{number}", None,
                   frequency, -amount, None, currency, email, "", when, when)  # fmt: skip


def staff_cookie(app) -> str:
    """A signed-in admin with the second factor passed, as the staff sign-in would leave it."""
    from fundraiser.accounts import sessions
    from fundraiser.extensions import db
    from fundraiser.models import Supporter

    with app.app_context():
        staff = Supporter(
            email="bench-admin@bench.example", role="admin", email_verified_at=datetime.now(UTC)
        )
        db.session.add(staff)
        db.session.commit()
        key = sessions.begin(staff)  # the live login session every signed-in cookie names
        db.session.commit()
        version = staff.session_version
        session = {
            sessions.SESSION_KEY: key,
            "_user_id": f"{staff.id}:{version}",
            "_fresh": True,
            "staff_2fa": version,
            "staff_2fa_at": int(time.time()),
        }
        return app.session_interface.get_signing_serializer(app).dumps(session)


def time_page(url: str, cookie: str, repeats: int) -> tuple[float, float, int]:
    """(median ms, worst ms, status) over sequential requests after one warm-up."""
    jar = {"session": cookie}
    status = requests.get(url, cookies=jar, timeout=120).status_code
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = requests.get(url, cookies=jar, timeout=120)
        timings.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(timings), max(timings), status


def rebuild_rollups(app) -> float:
    """Seconds to rebuild the roll-ups from the ledger, as `flask dashboard rebuild-rollups`."""
    from sqlalchemy import text

    from fundraiser.extensions import db
    from fundraiser.payments import rollups

    with app.app_context():
        started = time.perf_counter()
        rollups.rebuild()
        db.session.commit()
        seconds = time.perf_counter() - started
        for model in rollups.ROLLUPS:
            db.session.execute(text(f"ANALYZE {model.__tablename__}"))
        db.session.commit()
        db.session.remove()
    return seconds


def time_totals_query(app, repeats: int = 5) -> float:
    from fundraiser.campaigns.services import _ledger_figures, campaign_by_slug
    from fundraiser.extensions import db

    with app.app_context():
        campaign = campaign_by_slug(CAMPAIGN)
        _ledger_figures(campaign)
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            _ledger_figures(campaign)
            timings.append((time.perf_counter() - started) * 1000)
        db.session.remove()
    return statistics.median(timings)


def export_csv(url: str, cookie: str, worker: int) -> tuple[int, float, float, float]:
    """(data rows, seconds, worker RSS before in MB, worker peak RSS in MB)."""
    before = rss_mb(worker)
    started = time.perf_counter()
    lines = 0
    with requests.get(url, cookies={"session": cookie}, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(chunk_size=1 << 16):
            lines += chunk.count(b"\n")
    return lines - 1, time.perf_counter() - started, before, peak_rss_mb(worker)


def run(quick: bool = False) -> list[Row]:
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    repeats = 3 if quick else 7
    ensure_database()
    app = local_app()
    reset_database(app)
    from fundraiser.campaigns.services import campaign_by_slug

    with app.app_context():
        campaign_id = campaign_by_slug(CAMPAIGN).id
    cookie = staff_cookie(app)
    prefix = f"bench-{secrets.token_hex(3)}:"
    folder = workdir("dashboard")
    rows: list[Row] = []
    seeded = 0
    try:
        with gunicorn(app_spec(prefix), app_env(), folder, workers=1, ready="/healthz") as server:
            worker = server.worker_pids()[0]
            for size in sizes:
                started = time.monotonic()
                copy_rows(app, "ledger_entries", LEDGER_COLUMNS,
                          ledger_rows(campaign_id, seeded, size - seeded))  # fmt: skip
                seed_seconds = time.monotonic() - started
                rebuild_seconds = rebuild_rollups(app)
                seeded = size
                label = f"{size // 1000:,}k" if size < 1_000_000 else f"{size // 1_000_000}M"
                rows.append(
                    Row(
                        "dashboard",
                        f"roll-up rebuild @ {label} payments",
                        rebuild_seconds,
                        "s",
                        note="flask dashboard rebuild-rollups after the COPY (whole ledger)",
                    )  # fmt: skip
                )
                for path, name in (("/staff/", "dashboard /staff/"),
                                   ("/staff/donations", "donations table")):  # fmt: skip
                    median, worst, status = time_page(server.url + path, cookie, repeats)
                    rows.append(
                        Row(
                            "dashboard",
                            f"{name} @ {label} payments",
                            median,
                            "ms",
                            target="< 150 ms" if size == 1_000_000 else "",
                            met=(median < 150 and status == 200) if size == 1_000_000 else None,
                            note=f"worst {worst:.0f} ms; HTTP {status}"
                            + (
                                f"; seeded by COPY in {seed_seconds:.0f} s"
                                if path == "/staff/"
                                else ""
                            ),
                        )  # fmt: skip
                    )
                rows.append(
                    Row(
                        "dashboard",
                        f"totals query (uncached) @ {label}",
                        time_totals_query(app),
                        "ms",
                        note="what a cache miss on the landing page costs",
                    )  # fmt: skip
                )
            exported, seconds, before, peak = export_csv(
                server.url + "/staff/donations.csv", cookie, worker
            )
    finally:
        empty_job_queue(prefix)
    label = f"{seeded // 1000:,}k" if seeded < 1_000_000 else f"{seeded // 1_000_000}M"
    rows.append(
        Row(
            "dashboard",
            f"CSV export rows/s @ {label}",
            exported / seconds,
            "rows/s",
            target=">= 100k rows/s",
            met=exported / seconds >= 100_000,
            note=f"{exported:,} rows in {seconds:.1f} s",
        )  # fmt: skip
    )
    rows.append(
        Row(
            "dashboard",
            f"CSV export worker peak RSS @ {label}",
            peak,
            "MB",
            before,
            "worker RSS before",
            "< 150 MB",
            peak < 150,
        )  # fmt: skip
    )
    return rows
