"""Gunicorn's production settings: `gunicorn -c gunicorn.conf.py wsgi:app` (`make serve`).

The app itself reads its settings in fundraiser/config.py; this file only sizes and shapes
the server, with the usual GUNICORN_*/WEB_CONCURRENCY variables as overrides (systemd unit:
deploy/fundraiser.service). See docs/deploy.md for how the numbers were chosen.
"""

import multiprocessing
import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Workers from the CPU count (gunicorn's 2 × cores + 1): the app is mostly Python time,
# with waits on PostgreSQL, Redis and Stripe that the threads below fill in.
workers = _env_int("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
# gthread: a few threads per worker ride out slow Stripe calls in webhook handlers and keep
# idle keep-alive connections from pinning a whole worker.
worker_class = "gthread"
threads = _env_int("GUNICORN_THREADS", 4)
worker_connections = 1000

# A request that takes 30 s is stuck (Stripe calls time out after 10 s and retry twice).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
# Behind nginx or a load balancer on a private network: keep-alive a little longer than
# nginx's upstream keepalive_timeout would close it, so the proxy closes first.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak can never grow without bound; the jitter
# keeps them from restarting all at once. Not too often: a viral page is thousands of
# requests a second, and each restart costs a worker ~1.5 s of CPU to build the app.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 100_000)
max_requests_jitter = max_requests // 10

# Requests too large or with too many headers are refused before Python sees them.
limit_request_line = 8190
limit_request_fields = 100

# Only the local proxy may set X-Forwarded-*; the app's PROXY_FIX_HOPS decides how many hops.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to stdout/stderr (journald). The request id is the response's X-Request-ID
# (fundraiser/observability.py), the same one nginx logs, so one request is traced end to end.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = (
    '%(h)s - %(t)s "%(r)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s "%(f)s" "%(a)s"'
)

# Each worker builds its own app (no preload): database and Redis pools are then never
# shared across a fork, and a deploy only needs a HUP for workers to load the new code.
preload_app = False
proc_name = "fundraiser"


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set, drop a dead worker's live gauges from /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
