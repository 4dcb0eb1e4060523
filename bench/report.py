"""One row per figure, printed as one table and written as JSON to bench/results/."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.infra import RESULTS


@dataclass
class Row:
    case: str
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return self.value / self.baseline


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    header = ["case", "figure", "value", "baseline (same run)", "ratio", "target", "met"]
    lines = [header]
    for row in rows:
        baseline = (
            f"{_number(row.baseline, row.unit)} {row.baseline_name}".strip()
            if row.baseline is not None
            else "-"
        )
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        lines.append(
            [
                row.case,
                row.figure,
                _number(row.value, row.unit),
                baseline,
                ratio,
                row.target or "-",
                met,
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  [{r.case}] {r.figure}: {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])

    def version(command: list[str]) -> str:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)  # noqa: S603
            return (result.stdout or result.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": version(["psql", "--version"]),
        "redis": version(["redis-server", "--version"]),
        "nginx": version(["nginx", "-v"]),
        "wrk": version(["wrk", "--version"]),
    }


def save(rows: list[Row], cases: list[str], seconds: float, loads: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{stamp}-{'-'.join(cases)}.json"
    body = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cases": cases,
        "seconds": round(seconds, 1),
        "machine": machine() | loads,
        "rows": [asdict(row) | {"ratio": row.ratio} for row in rows],
    }
    path.write_text(json.dumps(body, indent=2))
    return path
