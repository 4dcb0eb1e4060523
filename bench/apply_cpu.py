"""CPU of a worker applying queued `invoice.paid` events (receipt and fee included).

`python -m bench.apply_cpu [N] [--profile FILE]` seeds N paid monthly pledges in the
simulator (its own process, as in the `webhooks` case) and our pledges table, records each
first invoice's `invoice.paid` as the webhook does in queue mode, then runs one
`flask worker --burst --simple` in this process and prints its CPU time per event (from
`time.process_time`, so a loaded box inflates it less than wall time). With `--profile`,
cProfile (CPU timer) writes its stats to FILE. Uses the bench database and Redis as the
cases do (`BENCH_DATABASE_URL`, `BENCH_REDIS_URL`); needs no wrk.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import time

from sqlalchemy import text

from bench import infra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int, nargs="?", default=300)
    parser.add_argument("--profile", help="write cProfile stats (CPU time) here")
    args = parser.parse_args()
    seed_app, folder, prefix = infra.fresh_run("apply-cpu")
    with infra.simulator(args.count, folder) as sim:
        infra.seed_pledges(seed_app, sim.subscriptions)
        os.environ.update(
            infra.app_env(
                STRIPE_API_BASE=sim.url, MAIL_OUTBOX=str(folder / "outbox"), WEBHOOK_APPLY="queue"
            )
        )
        from fundraiser import create_app
        from fundraiser.extensions import db
        from fundraiser.payments import event_queue, events

        app = create_app(
            {
                "CACHE_KEY_PREFIX": prefix,
                "RATELIMIT_KEY_PREFIX": prefix,
                "RQ_QUEUE": prefix + "jobs",
            }
        )
        try:
            with app.app_context():
                for row in sim.subscriptions:
                    events.record_alone(row["invoice_paid_event"], applied=False)
                event_queue.wake_appliers()
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            cpu, wall = time.process_time(), time.monotonic()
            if profiler:
                profiler.enable()
            result = app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            assert result.exit_code == 0, result.output
            with app.app_context():
                rows, fees = db.session.execute(
                    text(
                        "SELECT count(*), count(fee_minor) FROM ledger_entries "
                        "WHERE kind = 'payment'"
                    )
                ).one()
        finally:
            infra.empty_job_queue(prefix)
    print(
        f"{args.count} invoice.paid applied by one worker: CPU {1000 * cpu / args.count:.1f} ms"
        f" per event (wall {1000 * wall / args.count:.0f} ms); {rows} payment rows, {fees}"
        f" with their fee; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        + (" (profiled: CPU inflated)" if args.profile else "")
    )


if __name__ == "__main__":
    main()
