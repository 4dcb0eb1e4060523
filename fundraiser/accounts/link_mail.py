"""Links asked for by email address (reset, sign-in), looked up and mailed after the answer.

Whether an account exists must not show in how long the answer takes, so the request does
the same for every address: it hands the address on and answers. With Redis the work is an
RQ job; without it (or when Redis can't be reached) it runs once the response has been
written out (Werkzeug's `call_on_close`), still in this process but after the client has
its answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, after_this_request, current_app, has_request_context

from fundraiser import jobs
from fundraiser.extensions import db

log = logging.getLogger(__name__)

KINDS = ("reset", "magic")


def ask(kind: str, email: str, next_path: str | None = None) -> None:
    """Send the `kind` link to `email` if it has an account; the same cost either way."""
    if kind not in KINDS:
        raise ValueError(kind)
    queued = current_app.config.get("REDIS_URL") and not jobs.in_a_job()
    if queued and jobs.enqueue_call(run_job, kind, email, next_path):
        return
    app = current_app._get_current_object()
    after_response(lambda: _send_logged(app, kind, email, next_path))


def after_response(work: Callable[[], None]) -> None:
    """Run `work` once this request's response has been sent (at once outside a request)."""
    if not has_request_context():
        work()
        return

    @after_this_request
    def _later(response):
        response.call_on_close(work)
        return response


def run_job(kind: str, email: str, next_path: str | None) -> None:
    """The RQ job: an exception makes RQ try again later."""
    with jobs.job_app().app_context():
        send(kind, email, next_path)


def _send_logged(app: Flask, kind: str, email: str, next_path: str | None) -> None:
    # The answer has gone: a failure can only be logged (the person can ask again).
    with app.app_context():
        try:
            send(kind, email, next_path)
        except Exception:
            log.exception("could not send the %s link", kind)
            db.session.rollback()


def send(kind: str, email: str, next_path: str | None) -> None:
    from fundraiser.accounts import services

    if kind == "reset":
        services.request_password_reset(email)
    else:
        services.request_sign_in_link(email, next_path)
    db.session.commit()
