"""Stories about mail leaving the site: outbox files, SMTP, background jobs and their retries."""

from __future__ import annotations

import email
import socketserver
import threading
import uuid
from datetime import UTC, datetime
from email.policy import compat32
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import render_template
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from fundraiser import create_app
from fundraiser.accounts.language import writing_in
from fundraiser.mail import external_url, parse_message, send_mail

REDIS = "redis://127.0.0.1:6379/15"


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message at a time (no TLS, no auth)."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 test ready")
        while line := self.rfile.readline():
            command = line.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 test")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                self.reply("250 ok")
            elif command == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.received.append(data)
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_app(app_config, tmp_path):
    """Another app (another process, as far as the code can tell) with some settings changed."""

    def make(**overrides):
        return create_app({**app_config, "MAIL_OUTBOX": str(tmp_path / "outbox"), **overrides})

    return make


def _outbox(app) -> list[Path]:
    return sorted(Path(app.config["MAIL_OUTBOX"]).glob("*.eml"))


def test_without_a_mail_server_mail_lands_in_the_outbox_as_text_and_html(make_app):
    app = make_app()
    with app.app_context():
        send_mail("reader@example.org", "Hello", "magic", sign_in_url="http://x/y", minutes=15)
    [path] = _outbox(app)
    message = parse_message(path.read_bytes())
    assert message["To"] == "reader@example.org" and message["Subject"] == "Hello"
    assert message.get_content_type() == "multipart/alternative"
    assert "http://x/y" in message.get_body(("plain",)).get_content()
    assert 'href="http://x/y"' in message.get_body(("html",)).get_content()
    assert not list(path.parent.glob(".*.tmp"))  # written atomically: no half files left


@pytest.mark.parametrize(
    "subject",
    [
        "Thank you: your receipt for €10.00",
        "Спасибо! Ваша квитанция на 10,00 € — «Что стоит за беспорядками в Казахстане?»",
        "Ihr Spendenbeleg über 5.000 € für „Kasachstan“ " * 4,
    ],
)
def test_a_subject_beyond_ascii_arrives_whole_in_short_encoded_words(make_app, subject):
    app = make_app()
    with app.app_context():
        send_mail("reader@example.org", subject, "magic", sign_in_url="http://x/y", minutes=15)
    [path] = _outbox(app)
    raw = path.read_bytes()
    assert parse_message(raw)["Subject"] == subject
    header = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    line = next(line for line in header.splitlines() if line.startswith(b"Subject: "))
    words = line.removeprefix(b"Subject: ").split(b" ")
    assert all(word.startswith(b"=?utf-8?b?") and len(word) <= 75 for word in words)
    assert len(line) < 998 and line.isascii()


def _large_gift(donation_url: str) -> dict:
    entry = SimpleNamespace(
        amount_minor=125_000,
        currency="USD",
        frequency="one-time",
        campaign=SimpleNamespace(title="Plain words"),
        donor_name="Ann Example",
        donor_email="ann@example.org",
        occurred_at=datetime(2026, 2, 5, 10, 30, tzinfo=UTC),
    )
    return {"entry": entry, "channel": "stripe", "threshold": 100_000, "donation_url": donation_url}


@pytest.mark.parametrize(
    ("template", "language", "context", "encodings"),
    [
        # ASCII text in short lines; the HTML's button says "doesn’t"
        ("staff_large_gift", "en", _large_gift("http://x/d"), ["7bit", "base64"]),
        # ASCII, but a line longer than SMTP's 998
        ("staff_large_gift", "en", _large_gift("http://x/" + "d" * 1200), ["base64", "base64"]),
        ("magic", "de", {"sign_in_url": "http://x/y", "minutes": 15}, ["base64", "base64"]),
    ],
)
def test_mail_is_mime_as_the_email_package_writes_it(
    make_app, template, language, context, encodings
):
    """build_message writes the MIME itself: read and written again by the email package it
    is the same bytes, and each part holds the rendered text, us-ascii in 7bit when that is
    ASCII in lines of at most 998 characters, else utf-8 in base64."""
    app = make_app()
    with app.app_context(), writing_in(language):
        send_mail("Zoë <reader@example.org>", "Größe — grandeur", template, **context)
        rendered = [
            render_template(f"mail/{template}.{extension}", **context, mail_language=language)
            for extension in ("txt", "html")
        ]
    [path] = _outbox(app)
    raw = path.read_bytes()
    assert raw.isascii() and max(map(len, raw.splitlines())) <= 998
    again = email.message_from_bytes(raw).as_bytes(policy=compat32.clone(max_line_length=None))
    assert again == raw
    message = parse_message(raw)
    assert message["To"] == "Zoë <reader@example.org>"
    assert message["Subject"] == "Größe — grandeur"
    assert message["Content-Language"] == language
    assert message["MIME-Version"] == "1.0" and message["Date"] and message["Message-ID"]
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert [part["Content-Transfer-Encoding"] for part in parts] == encodings
    charsets = ["us-ascii" if encoding == "7bit" else "utf-8" for encoding in encodings]
    assert [part.get_content_charset() for part in parts] == charsets
    assert [part.get_content() for part in parts] == [text + "\n" for text in rendered]


def test_links_in_mail_follow_base_url_and_the_mails_language(make_app):
    app = make_app(BASE_URL="https://one.example")
    with app.app_context():
        assert external_url("accounts.overview") == "https://one.example/account"
        app.config["BASE_URL"] = "http://two.example/giving"
        with writing_in("de"):
            assert external_url("accounts.overview") == "http://two.example/giving/de/account"


def test_with_a_mail_server_mail_goes_out_by_smtp(make_app, smtp_server):
    port = smtp_server.server_address[1]
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    with app.app_context():
        send_mail("reader@example.org", "By SMTP", "magic", sign_in_url="http://x/y", minutes=15)
    [raw] = smtp_server.received
    assert parse_message(raw)["Subject"] == "By SMTP"
    assert _outbox(app) == []


def test_a_failed_inline_send_is_kept_not_lost(make_app):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)
    with app.app_context():
        send_mail("reader@example.org", "Kept", "magic", sign_in_url="http://x/y", minutes=15)
    kept = list((Path(app.config["MAIL_OUTBOX"]) / "undelivered").glob("*.eml"))
    assert len(kept) == 1 and parse_message(kept[0].read_bytes())["Subject"] == "Kept"


@pytest.fixture
def queue_name():
    name = f"test-mail-{uuid.uuid4().hex[:8]}"
    yield name
    queue = Queue(name, connection=Redis.from_url(REDIS))
    queue.empty()
    queue.delete(delete_jobs=True)


def test_with_redis_mail_is_queued_and_the_worker_sends_it(make_app, queue_name):
    app = make_app(REDIS_URL=REDIS, RQ_QUEUE=queue_name)
    with app.app_context():
        send_mail("reader@example.org", "Queued", "magic", sign_in_url="http://x/y", minutes=15)
    assert _outbox(app) == []
    queue = Queue(queue_name, connection=Redis.from_url(REDIS))
    [job] = queue.get_jobs()
    assert job.retries_left == 5 and job.retry_intervals == [10, 30, 60, 300, 900]

    result = app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    assert result.exit_code == 0, result.output
    [path] = _outbox(app)
    assert parse_message(path.read_bytes())["Subject"] == "Queued"


def test_a_failing_job_is_scheduled_to_be_tried_again(make_app, queue_name):
    app = make_app(REDIS_URL=REDIS, RQ_QUEUE=queue_name, MAIL_SERVER="127.0.0.1", MAIL_PORT=1)
    with app.app_context():
        send_mail("reader@example.org", "Retry", "magic", sign_in_url="http://x/y", minutes=15)
    queue = Queue(queue_name, connection=Redis.from_url(REDIS))
    [job] = queue.get_jobs()
    app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    job.refresh()
    assert job.retries_left == 4
    assert job.get_status() == "scheduled"


def test_when_redis_is_down_mail_is_sent_inline(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        send_mail("reader@example.org", "Inline", "magic", sign_in_url="http://x/y", minutes=15)
    [path] = _outbox(app)
    assert parse_message(path.read_bytes())["Subject"] == "Inline"


def test_worker_command_explains_that_it_needs_redis(make_app):
    result = make_app().test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL" in result.output


def test_with_redis_the_receipt_is_rendered_in_the_worker_not_the_request(
    make_app, queue_name, campaign
):
    from fundraiser.payments import after_commit
    from tests.factories import add_payment

    app = make_app(REDIS_URL=REDIS, RQ_QUEUE=queue_name)
    with app.app_context():
        entry = add_payment(campaign, 2500, email="queued-receipt@example.org")
        after_commit.run([("payment_recorded", {"entry_id": entry.id})])
    assert _outbox(app) == []  # the request only queued the job
    queue = Queue(queue_name, connection=Redis.from_url(REDIS), serializer=JSONSerializer)
    [job] = queue.get_jobs()
    assert job.func_name.endswith("after_commit.receiver_job")
    for _ in range(2):  # the receiver's job, then the mail job it queues
        app.test_cli_runner().invoke(args=["worker", "--burst", "--simple"])
    [path] = _outbox(app)
    message = parse_message(path.read_bytes())
    assert message["To"] == "queued-receipt@example.org" and "receipt" in message["Subject"]
