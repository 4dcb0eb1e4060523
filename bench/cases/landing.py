"""The viral-article path: `GET /` and the totals API, straight from gunicorn and through nginx.

Baselines, measured in the same run: a hello-world Flask app under the same gunicorn
settings (direct), and nginx serving a static copy of the same page (through nginx).
"""

from __future__ import annotations

import re
import secrets

import requests

from bench.infra import (
    CAMPAIGN,
    REPO,
    app_env,
    app_spec,
    best_of,
    ensure_database,
    flush_redis,
    free_port,
    gunicorn,
    local_app,
    nginx,
    reset_database,
    workdir,
    wrk,
)
from bench.report import Row

TOTALS = f"/api/campaigns/{CAMPAIGN}/totals"
CONNECTIONS = 32


def _prepare() -> str:
    ensure_database()
    reset_database(local_app())
    return f"bench-{secrets.token_hex(3)}:"


def _seconds(quick: bool) -> int:
    return 3 if quick else 10


def _rows(case, name, load, base, base_name, ratio_target, p99_target) -> list[Row]:
    ratio_ok = load.requests_per_second >= ratio_target * base.requests_per_second
    return [
        Row(
            case,
            f"{name} req/s @{CONNECTIONS} conn",
            load.requests_per_second,
            "req/s",
            base.requests_per_second,
            base_name,
            f">= {ratio_target}x",
            ratio_ok and load.errors == 0,
            note=f"{load.errors} errors" if load.errors else "",
        ),
        Row(
            case,
            f"{name} p99",
            load.p99_ms,
            "ms",
            base.p99_ms,
            base_name,
            f"< {p99_target} ms",
            load.p99_ms < p99_target,
        ),
    ]


def run_direct(quick: bool = False) -> list[Row]:
    """gunicorn (gunicorn.conf.py defaults: workers from CPUs, gthread) vs hello-world."""
    prefix = _prepare()
    folder = workdir("landing")
    seconds = _seconds(quick)
    env = app_env()
    try:
        with (
            gunicorn("bench.hello:app", env, folder) as hello,
            gunicorn(app_spec(prefix), env, folder) as server,
        ):
            best = best_of(
                1 if quick else 2,
                {
                    "hello": lambda: wrk(hello.url + "/", CONNECTIONS, seconds),
                    "page": lambda: wrk(server.url + "/", CONNECTIONS, seconds),
                    "totals": lambda: wrk(server.url + TOTALS, CONNECTIONS, seconds),
                },
            )
    finally:
        flush_redis(prefix)
    base = best["hello"]
    return _rows("landing", "GET /", best["page"], base, "hello-world", 0.8, 50) + _rows(
        "landing", "GET totals API", best["totals"], base, "hello-world", 0.8, 50
    )


def site_config(port: int, upstream: str, folder) -> str:
    """deploy/nginx-fundraiser.conf as shipped, with this run's port, upstream and paths."""
    site = (REPO / "deploy/nginx-fundraiser.conf").read_text()
    snippet = folder / "fundraiser-microcache.conf"
    snippet.write_text((REPO / "deploy/fundraiser-microcache.conf").read_text())
    (folder / "cache").mkdir(exist_ok=True)
    replacements = [
        (r"server 127\.0\.0\.1:8000;", f"server {upstream};"),
        (r"proxy_cache_path /var/cache/nginx/fundraiser ", f"proxy_cache_path {folder}/cache "),
        (r"listen 80;", f"listen 127.0.0.1:{port};"),
        (r"access_log /var/log/nginx/fundraiser\.access\.log", f"access_log {folder}/access.log"),
        (r"alias /srv/fundraiser/static/", f"alias {REPO}/static/"),
        (r"include /etc/nginx/snippets/fundraiser-microcache\.conf;", f"include {snippet};"),
    ]
    for pattern, value in replacements:
        site, count = re.subn(pattern, value, site)
        if not count:
            raise RuntimeError(f"deploy/nginx-fundraiser.conf no longer has {pattern!r}")
    return site


def static_config(port: int, root) -> str:
    return f"""
    server {{
        listen 127.0.0.1:{port};
        access_log {root}/../static-access.log;
        location = / {{ root {root}; try_files /index.html =404; default_type text/html; }}
        location = {TOTALS} {{ root {root}; try_files /totals.json =404;
                               default_type application/json; }}
    }}
    """


def run_nginx(quick: bool = False) -> list[Row]:
    """The shipped nginx site (2 s micro-cache) in front of gunicorn vs nginx + a static copy."""
    prefix = _prepare()
    folder = workdir("nginx")
    seconds = _seconds(quick)
    try:
        with gunicorn(app_spec(prefix), app_env(PROXY_FIX_HOPS="1"), folder) as server:
            root = folder / "static-site"
            root.mkdir()
            (root / "index.html").write_bytes(requests.get(server.url + "/", timeout=10).content)
            (root / "totals.json").write_bytes(
                requests.get(server.url + TOTALS, timeout=10).content
            )
            port, static_port = free_port(), free_port()
            site = site_config(port, server.url.removeprefix("http://"), folder)
            with (
                nginx(
                    static_config(static_port, root), folder / "static-nginx", static_port
                ) as static,
                nginx(site, folder, port) as front,
            ):
                cached = requests.get(front.url + "/", timeout=10)
                best = best_of(
                    1 if quick else 2,
                    {
                        "static page": lambda: wrk(static.url + "/", CONNECTIONS, seconds),
                        "page": lambda: wrk(front.url + "/", CONNECTIONS, seconds),
                        "static totals": lambda: wrk(static.url + TOTALS, CONNECTIONS, seconds),
                        "totals": lambda: wrk(front.url + TOTALS, CONNECTIONS, seconds),
                    },
                )
    finally:
        flush_redis(prefix)
    rows = _rows(
        "nginx", "GET / via nginx", best["page"], best["static page"], "nginx static", 0.7, 20
    )
    rows += _rows(
        "nginx",
        "GET totals via nginx",
        best["totals"],
        best["static totals"],
        "nginx static",
        0.7,
        20,
    )
    rows[0].extra["first_response_cache_status"] = cached.headers.get("X-Cache")
    return rows
