"""`python -m bench [case ...]`: run the named cases (all by default), print one table."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

from bench import cases
from bench.infra import load_average, settle
from bench.report import Row, save, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "cases",
        nargs="*",
        choices=[[], *cases.CASES],
        metavar="case",
        help=f"any of {', '.join(cases.CASES)} (default: all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="shorter runs and smaller data sets, for trying the harness",
    )
    args = parser.parse_args(argv)
    chosen = args.cases or list(cases.CASES)
    started = time.monotonic()
    load_before = load_average()
    rows: list[Row] = []
    for name in chosen:
        waited, idle = settle()
        print(
            f"== {name} ... (box settled in {waited:.0f} s: {idle:.0%} idle)",
            file=sys.stderr,
            flush=True,
        )
        case_started = time.monotonic()
        try:
            rows += cases.CASES[name](quick=args.quick)
        except Exception as exc:  # noqa: BLE001 - one broken case must not lose the others
            traceback.print_exc()
            rows.append(Row(name, "case failed", 0, "", met=False, note=repr(exc)[:300]))
        print(f"   {name} took {time.monotonic() - case_started:.0f} s", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(table(rows))
    loads = {"load_average_before": load_before, "load_average_after": load_average()}
    path = save(rows, chosen, elapsed, loads)
    print(
        f"\n{len(chosen)} case(s) in {elapsed:.0f} s on {os.cpu_count()} cores; load average"
        f" before {load_before[0]}, after {loads['load_average_after'][0]}; JSON: {path}"
    )
    # A missed target is a finding, reported in the table; only a crashed case fails the run.
    return 0 if all(row.figure != "case failed" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
