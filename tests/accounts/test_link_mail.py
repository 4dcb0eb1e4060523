"""Pen-test finding: asking for a reset or sign-in link costs the request the same work for
every address; the account is looked up and the mail made after the answer, or in a job."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import request_finished, template_rendered
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import event

from fundraiser.extensions import db
from fundraiser.mail import parse_message
from tests.accounts.conftest import csrf_token, make_supporter
from tests.accounts.test_mail import REDIS, make_app, queue_name  # noqa: F401 - fixtures

KNOWN, UNKNOWN = "known@example.org", "nobody@example.org"
PAGES = ["/account/reset", "/account/sign-in-link"]


def _outbox(app) -> list[Path]:
    return sorted(Path(app.config["MAIL_OUTBOX"]).glob("*.eml"))


class Recorder:
    """What happens, in order: SQL touching supporters, mail templates, the request's end."""

    def __init__(self, app):
        self.app, self.events = app, []
        with app.app_context():
            self.engine = db.engine

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._sql)
        template_rendered.connect(self._template, self.app)
        request_finished.connect(self._finished, self.app)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._sql)
        template_rendered.disconnect(self._template, self.app)
        request_finished.disconnect(self._finished, self.app)

    def _sql(self, _conn, _cursor, statement, *_args):
        if "supporters" in statement:
            self.events.append("lookup")

    def _template(self, _app, template, **_extra):
        if template.name.startswith("mail/"):
            self.events.append("mail")

    def _finished(self, _app, response, **_extra):
        if response.status_code == 302:
            self.events.append("answered")

    def in_request(self) -> list[str]:
        return self.events[: self.events.index("answered")]


def _ask(app, page: str, email: str) -> Recorder:
    client = app.test_client()
    shown = client.get(page)
    assert shown.status_code == 200
    with Recorder(app) as recorder:
        token = csrf_token(shown.get_data(as_text=True))
        # buffered: the client reads the whole answer, as a server writing it out does.
        response = client.post(page, data={"csrf_token": token, "email": email}, buffered=True)
    assert response.status_code == 302
    return recorder


@pytest.mark.parametrize("page", PAGES)
def test_without_redis_the_answer_comes_before_any_lookup_or_mail(client, app, page, mailbox):
    with app.app_context():
        make_supporter(KNOWN)
    known, unknown = _ask(app, page, KNOWN), _ask(app, page, UNKNOWN)
    assert known.in_request() == unknown.in_request() == []
    assert "mail" in known.events and "mail" not in unknown.events
    assert len(mailbox.messages(KNOWN)) == 1 and mailbox.messages(UNKNOWN) == []


@pytest.mark.parametrize("page", PAGES)
def test_with_redis_every_address_gets_one_identical_job(app, make_app, queue_name, page):  # noqa: F811
    application = make_app(REDIS_URL=REDIS, RQ_QUEUE=queue_name)
    with application.app_context():
        make_supporter(KNOWN)
    known, unknown = _ask(application, page, KNOWN), _ask(application, page, UNKNOWN)
    assert known.events == unknown.events == ["answered"]
    assert _outbox(application) == []
    jobs = Queue(queue_name, connection=Redis.from_url(REDIS), serializer=JSONSerializer).get_jobs()
    assert [job.func_name for job in jobs] == [jobs[0].func_name] * 2
    assert "link_mail" in jobs[0].func_name

    result = application.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    [path] = _outbox(application)
    assert parse_message(path.read_bytes())["To"] == KNOWN
