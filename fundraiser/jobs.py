"""Background jobs on RQ: the queue named by REDIS_URL, the app a job runs in, `flask worker`.

Jobs are stored as JSON (RQ's JSONSerializer), never pickled, and a worker runs only the job
functions named in ALLOWED_JOBS; an after-commit receiver job runs only a receiver that the
after-commit table (payments.after_commit) marks queued. Whoever can write to Redis can at
most ask for one of our own jobs, never run code of their choosing.
"""

from __future__ import annotations

import logging

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, SimpleWorker, Worker, get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

#: A failed send is tried again after 10 s, 30 s, 1 min, 5 min and 15 min, then kept in
#: RQ's failed-job registry (visible with `rq info`), never silently dropped.
MAIL_RETRY_INTERVALS = [10, 30, 60, 300, 900]

_worker_app: Flask | None = None

#: The only functions a worker runs (by import path); anything else in the queue fails.
#: These are exactly the functions we queue: reset and sign-in links, mail delivery, the
#: queued receivers of the after-commit table, and the drain of received Stripe events.
ALLOWED_JOBS = frozenset(
    {
        "fundraiser.accounts.link_mail.run_job",
        "fundraiser.mail.delivery_job",
        "fundraiser.payments.after_commit.receiver_job",
        "fundraiser.payments.event_queue.drain_job",
    }
)


class UnknownJob(RuntimeError):
    """A job naming a function that is not one of ours: refused, never imported."""


class OurJob(Job):
    """A job that resolves its function only from ALLOWED_JOBS (the check is before import)."""

    @property
    def func(self):
        if self.func_name not in ALLOWED_JOBS or self.instance is not None:
            raise UnknownJob(f"refusing job function {self.func_name!r}")
        return super().func


_connections: dict[str, Redis] = {}


def redis_connection(url: str) -> Redis:
    """One client (and connection pool) per URL per process, not a new connection per job."""
    if url not in _connections:
        # Short timeouts: a request waiting on a dead Redis should fall back, not hang.
        _connections[url] = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return _connections[url]


def queue_for(app: Flask) -> Queue:
    name = app.config.get("RQ_QUEUE", "fundraiser")
    return Queue(
        name,
        connection=redis_connection(app.config["REDIS_URL"]),
        serializer=JSONSerializer,
        job_class=OurJob,
    )


def enqueue_call(function, *args) -> bool:
    """Queue a job with the mail retry schedule; False when Redis cannot be reached.

    Only a function of ALLOWED_JOBS may be queued (a worker would refuse any other), and its
    arguments must be JSON data."""
    if f"{function.__module__}.{function.__qualname__}" not in ALLOWED_JOBS:
        raise UnknownJob(f"{function.__module__}.{function.__qualname__} is not in ALLOWED_JOBS")
    try:
        queue_for(current_app).enqueue(
            function,
            *args,
            retry=Retry(max=len(MAIL_RETRY_INTERVALS), interval=MAIL_RETRY_INTERVALS),
            job_timeout=120,
            failure_ttl=30 * 24 * 3600,
        )
    except RedisError as exc:
        log.warning("job queue unavailable (%s); running inline", exc.__class__.__name__)
        return False
    return True


def in_a_job() -> bool:
    """Whether this code already runs in a worker's job (a job of its own would only add an
    RQ round trip: ~3.5 ms of CPU and ~10 ms of waiting)."""
    return get_current_job() is not None


def job_app() -> Flask:
    """The app a job runs in: the worker's own, or one built from the environment."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from fundraiser import create_app

        _worker_app = create_app()
    return _worker_app


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
@with_appcontext
def worker_command(burst: bool, simple: bool) -> None:
    """Run an RQ worker for this app's queue (mail delivery and its retries)."""
    global _worker_app
    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: without Redis, mail is sent inline.")
    # Forked job processes inherit this app, so jobs run with the worker's configuration.
    _worker_app = current_app._get_current_object()
    queue = queue_for(_worker_app)
    worker_class = SimpleWorker if simple else Worker
    worker = worker_class(
        [queue], connection=queue.connection, serializer=JSONSerializer, job_class=OurJob
    )
    # The scheduler moves retries whose interval has passed back onto the queue.
    worker.work(burst=burst, with_scheduler=True)
