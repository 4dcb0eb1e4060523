"""CPU of one Stripe API call from our side: the two a worker makes for each `invoice.paid`.

`python -m bench.stripe_calls [N] [--profile FILE]` seeds N paid monthly pledges in the
simulator (its own process, as in `apply_cpu`), then times N × gateway.retrieve_paid_invoice
and N × gateway.retrieve_payment_intent in this process, one after the other on one thread
as a worker does, and prints each one's CPU time per call (`time.process_time`: the
simulator's own CPU is not counted) and its wall time. Needs no database.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import time

from bench import infra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int, nargs="?", default=300)
    parser.add_argument("--profile", help="write cProfile stats (CPU time) here")
    args = parser.parse_args()
    with infra.simulator(args.count, infra.workdir("stripe-calls"), events=False) as sim:
        os.environ.update(infra.app_env(STRIPE_API_BASE=sim.url))
        from fundraiser import create_app
        from fundraiser.payments import gateway

        invoices = [row["invoice"] for row in sim.subscriptions]
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        with create_app().app_context():
            gateway.retrieve_paid_invoice(invoices[0])  # the client and its connection
            if profiler:
                profiler.enable()
            paid, cpu, wall = _timed(gateway.retrieve_paid_invoice, invoices)
            report = [("retrieve_paid_invoice", cpu, wall)]
            intents = [
                invoice["payments"]["data"][0]["payment"]["payment_intent"]["id"]
                for invoice in paid
            ]
            _, cpu, wall = _timed(gateway.retrieve_payment_intent, intents)
            report.append(("retrieve_payment_intent", cpu, wall))
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    for name, cpu, wall in report:
        print(
            f"{args.count} × gateway.{name}: CPU {1000 * cpu / args.count:.2f} ms per call"
            f" (wall {1000 * wall / args.count:.2f} ms); load average {load}"
            + (" (profiled: CPU inflated)" if args.profile else "")
        )


def _timed(call, ids: list[str]) -> tuple[list, float, float]:
    cpu, wall = time.process_time(), time.monotonic()
    results = [call(object_id) for object_id in ids]
    return results, time.process_time() - cpu, time.monotonic() - wall


if __name__ == "__main__":
    main()
