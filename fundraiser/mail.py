"""Outgoing mail: render text+HTML templates, then send by SMTP or into the outbox folder."""

from __future__ import annotations

import base64
import functools
import logging
import os
import random
import re
import smtplib
import sys
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import idna
from flask import current_app, render_template
from jinja2 import pass_context
from markupsafe import Markup

from fundraiser import jobs

log = logging.getLogger(__name__)


def external_url(endpoint: str, **values) -> str:
    """An absolute link on BASE_URL; works outside requests too (webhook replays, CLI, jobs)."""
    from fundraiser.i18n import PREFIXED_LANGUAGES, is_localized, rendering_language

    language = values.pop("lang", None) or rendering_language()
    if is_localized(endpoint) and language in PREFIXED_LANGUAGES:
        values["lang"] = language  # a mail in German links to the German pages
    return _url_adapter().build(endpoint, values, force_external=True)


def _url_adapter():
    """The app's URL map bound to BASE_URL: made once per app (and BASE_URL), not per link."""
    base_url = current_app.config["BASE_URL"]
    bound = current_app.extensions.get(__name__)
    if bound is None or bound[0] != base_url:
        base = urlsplit(base_url)
        adapter = current_app.url_map.bind(
            base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
        )
        bound = current_app.extensions[__name__] = (base_url, adapter)
    return bound[1]


class _Compat32(Compat32):
    """compat32, but an ASCII header on one line is written as it is, not folded through a
    Header object. RFC 5322 wants lines under 998 characters and prefers 78: ours
    (addresses, dates, ids, a content type with its boundary) are a little over 78 at most;
    a subject that isn't ASCII is a line of encoded words (_header)."""

    def _fold(self, name, value, sanitize):
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) < 900
            and "\n" not in value
            and "\r" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_POLICY = _Compat32()


def build_message(to: str, subject, template_name: str, **context) -> bytes:
    """Render templates/mail/<name>.txt and .html into one multipart/alternative message, as
    the bytes of the mail (LF line ends, as in the outbox).

    Written directly, the way email.generator writes a compat32 MIMEMultipart of two
    MIMEText parts (same headers, folding, charsets and encodings; see test_mail), at a
    fraction of the CPU of building those objects and flattening them."""
    config = current_app.config
    from flask_babel import get_translations

    from fundraiser.i18n import rendering_language

    context.setdefault("base_url", config["BASE_URL"])
    context.setdefault("mail_language", rendering_language())
    for name, function in _template_gettext(get_translations()).items():
        context.setdefault(name, function)
    parts = [_text_part(render_template(f"mail/{template_name}.txt", **context), "plain")]
    parts.append(_text_part(render_template(f"mail/{template_name}.html", **context), "html"))
    boundary = _boundary(parts)
    headers = (
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        ("From", _address(config["MAIL_FROM"])),
        ("To", _address(to)),
        ("Subject", _header(str(subject))),  # a lazy subject renders in the mail's language
        ("Content-Language", context["mail_language"]),
        ("Date", formatdate(localtime=False)),
        ("Message-ID", make_msgid(domain=_sender_domain(config["MAIL_FROM"]))),
    )
    head = "".join(_POLICY.fold(name, value) for name, value in headers)
    between = f"\n--{boundary}\n"
    return f"{head}\n--{boundary}\n{between.join(parts)}\n--{boundary}--\n".encode("ascii")


@functools.lru_cache(maxsize=16)
def _template_gettext(translations) -> dict:
    """gettext for a mail's templates, bound to the catalogue of its language: what the i18n
    extension's newstyle gettext does (autoescaped, always %-formatted), without asking
    Flask-Babel for the language again on every string (a third of rendering a receipt)."""

    @pass_context
    def gettext(context, string, **variables):
        return _formatted(context, translations.ugettext(string), variables)

    @pass_context
    def ngettext(context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        return _formatted(context, translations.ungettext(singular, plural, num), variables)

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext}


def _formatted(context, text: str, variables: dict) -> str:
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalogue's words, as Jinja's gettext
    return text % variables


#: Line ends as email.generator writes them in a 7bit body: each of CRLF, CR, LF as LF.
_LINE_END = re.compile(r"\r\n|\r|\n")


def _text_part(body: str, subtype: str) -> str:
    """One text/<subtype> part: us-ascii 7bit when the text is ASCII in lines of at most 998
    characters, else utf-8 in base64 (which the C library encodes; quoted-printable is
    pure Python)."""
    if not body.endswith("\n"):
        body += "\n"
    if body.isascii() and max(map(len, body.splitlines())) <= 998:
        charset, encoding, payload = "us-ascii", "7bit", _LINE_END.sub("\n", body)
    else:
        charset, encoding = "utf-8", "base64"
        payload = base64.encodebytes(body.encode("utf-8")).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="{charset}"\n'
        f"Content-Transfer-Encoding: {encoding}\n\n{payload}"
    )


def _boundary(parts: list[str]) -> str:
    """A boundary as email.generator makes one, and that no part contains."""
    while True:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}=="
        if not any(boundary in part for part in parts):
            return boundary


#: UTF-8 bytes per RFC 2047 encoded word: base64 of 45 bytes is 60 characters, so a word with
#: its "=?utf-8?b?…?=" stays within the RFC's 75.
_WORD_BYTES = 45


def _header(value: str) -> str:
    """A header value in ASCII: as it is, or as base64 encoded words of whole characters.

    Written here rather than by email.header.Header, whose folding re-measures the value
    for every split it tries (a tenth of applying a paid invoice, for a "€" in a subject).
    Readers join adjacent encoded words, ignoring the spaces between them."""
    if value.isascii():
        return value
    data = value.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: step back
            end -= 1
        words.append(data[start:end])
        start = end
    return " ".join(f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words)


#: validate_email's options for an address we will write to: no DNS lookup, and no
#: non-ASCII before the @ (it needs SMTPUTF8, which our ASCII messages don't use; a
#: non-ASCII domain is written as IDNA, see _address).
MAILABLE = {"check_deliverability": False, "allow_smtputf8": False}


def _address(value: str) -> str:
    """An address header, its display name encoded if it isn't ASCII, its domain as IDNA."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if at and not domain.isascii():
        address = f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    return formataddr((name, address), charset="utf-8")


def _sender_domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rsplit("@", 1)[-1] or "localhost"


def send_mail(to: str, subject, template_name: str, **context) -> None:
    """Render now (in the language of an enclosing accounts.language.writing_in; a subject
    made with lazy_gettext follows it too); deliver in a background job when Redis is
    configured (at once when this is a job already, queued if that fails), inline otherwise.
    If the queue can't be reached it is delivered inline: it is never dropped."""
    message = build_message(to, subject, template_name, **context)
    if current_app.config.get("REDIS_URL"):
        if jobs.in_a_job() and _delivered(message):
            return
        # A job of its own retries the delivery (RQ's retry schedule, jobs.MAIL_RETRY_INTERVALS).
        raw = base64.b64encode(message).decode("ascii")  # jobs are JSON
        if jobs.enqueue_call(delivery_job, raw):
            return
    deliver_inline(message)


def _delivered(message: bytes) -> bool:
    try:
        deliver(message)
    except (OSError, smtplib.SMTPException):
        log.warning("mail delivery failed; queued to be tried again", exc_info=True)
        return False
    return True


def deliver(message: bytes) -> None:
    """Hand the message (its bytes) to the SMTP server, or write it to the outbox when there
    is none."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        write_to_outbox(message, Path(config["MAIL_OUTBOX"]))
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        # smtplib finds the envelope in the headers and sends the lines with CRLF.
        smtp.send_message(BytesParser(policy=_POLICY).parsebytes(message))


def deliver_inline(message: bytes) -> None:
    """Deliver now; if SMTP fails, keep the message in the outbox's undelivered folder."""
    try:
        deliver(message)
    except (OSError, smtplib.SMTPException):
        folder = Path(current_app.config["MAIL_OUTBOX"]) / "undelivered"
        path = write_to_outbox(message, folder)
        log.exception("mail delivery failed; kept for resending at %s", path)


def delivery_job(raw_message: str) -> None:
    """The RQ job: deliver one message (base64 of its bytes) in the worker's app; an exception
    makes RQ retry it."""
    with jobs.job_app().app_context():
        deliver(base64.b64decode(raw_message, validate=True))


def parse_message(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def write_to_outbox(message: bytes, folder: Path) -> Path:
    """Write atomically (temp file, then rename) under a unique name, so readers never see half."""
    # Time first, so a directory listing sorts in sending order.
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    final = folder / name
    temp_name = os.path.join(folder, f".{name}.tmp")
    try:
        handle = os.open(temp_name, _NEW_FILE, 0o600)
    except FileNotFoundError:  # the first mail, or the folder was cleared away
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(temp_name, _NEW_FILE, 0o600)
    try:
        with open(handle, "wb") as file:
            file.write(message)
        os.replace(temp_name, final)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return final


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL
