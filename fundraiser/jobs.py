"""Background jobs on RQ: the queue named by REDIS_URL, the app a job runs in, `flask worker`.

Jobs are stored as JSON (RQ's JSONSerializer), never pickled, and a worker runs only the job
functions named in ALLOWED_JOBS, receivers only if they were marked `in_background`: whoever
can write to Redis can at most ask for one of our own jobs, never run code of their choosing.
"""

from __future__ import annotations

import base64
import functools
import json
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
ALLOWED_JOBS = frozenset(
    {
        "fundraiser.accounts.link_mail.run_job",
        "fundraiser.jobs.run_mail_job",
        "fundraiser.jobs.run_receiver_job",
        "fundraiser.payments.event_queue.drain_job",
    }
)
#: Receivers that may run in a job, by "module:name" (filled by `in_background`).
_BACKGROUND_RECEIVERS: set[str] = set()


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
    """Queue a job with the mail retry schedule; False when Redis cannot be reached."""
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


def enqueue_mail(raw_message: bytes) -> bool:
    """Queue a rendered message for delivery; False when Redis cannot be reached."""
    return enqueue_call(run_mail_job, base64.b64encode(raw_message).decode("ascii"))


def _receiver_path(receiver) -> str:
    return f"{receiver.__module__}:{receiver.__name__}"


def as_json_data(kwargs: dict) -> dict:
    """A receiver's kwargs as JSON gives them back: tuples become lists, datetimes ISO text."""
    return json.loads(json.dumps(kwargs, default=str))


def enqueue_receiver(receiver, kwargs: dict) -> bool:
    """Run a signal receiver in a job (by its import path); False when Redis is unreachable."""
    return enqueue_call(run_receiver_job, _receiver_path(receiver), as_json_data(kwargs))


def in_background(receiver):
    """A signal receiver that runs in an RQ job when Redis is configured (here otherwise, or
    when the queue can't be reached). Receivers run after a commit, so a failure is logged,
    never raised: RQ retries it, and inline it is left for reconcile or the next event."""

    _BACKGROUND_RECEIVERS.add(_receiver_path(receiver))

    @functools.wraps(receiver)
    def wrapper(sender, **kwargs):
        queue = current_app.config.get("REDIS_URL") and not in_a_job()
        if queue and enqueue_receiver(receiver, kwargs):
            return
        run_safely(receiver, kwargs)

    return wrapper


def in_a_job() -> bool:
    """Whether this code already runs in a worker's job (a job of its own would only add an
    RQ round trip: ~3.5 ms of CPU and ~10 ms of waiting)."""
    return get_current_job() is not None


def run_safely(receiver, kwargs: dict) -> None:
    """Run a receiver here; a failure is logged and its transaction rolled back."""
    from fundraiser.extensions import db

    try:
        receiver(None, **kwargs)
    except Exception:
        log.exception("receiver %s failed for %r", receiver.__name__, kwargs)
        db.session.rollback()


def run_receiver_job(path: str, kwargs: dict) -> None:
    """The receiver itself (not its enqueuing wrapper), inside the worker's app."""
    import importlib

    app = job_app()  # building the app imports every receiver module, which registers them
    if path not in _BACKGROUND_RECEIVERS:
        raise UnknownJob(f"refusing receiver {path!r}")
    module_name, name = path.split(":")
    receiver = getattr(importlib.import_module(module_name), name)
    with app.app_context():
        getattr(receiver, "__wrapped__", receiver)(None, **kwargs)


def job_app() -> Flask:
    """The app a job runs in: the worker's own, or one built from the environment."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from fundraiser import create_app

        _worker_app = create_app()
    return _worker_app


def run_mail_job(raw_message: str) -> None:
    """Deliver one message (base64 of its bytes); an exception makes RQ retry it later."""
    from fundraiser.mail import deliver_raw

    with job_app().app_context():
        deliver_raw(base64.b64decode(raw_message, validate=True))


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
