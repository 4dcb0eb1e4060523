"""Helpers for account stories: the outbox as a mailbox, forms with their CSRF token, people."""

from __future__ import annotations

import re
import shutil
import zlib
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Pledge, Supporter, utcnow
from fundraiser.passwords import hash_password
from tests.factories import book

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
URL_RE = re.compile(r"https?://[^\s<>\"]+")


class Mailbox:
    """Reads the .eml files the app wrote to MAIL_OUTBOX, as a person reads their inbox."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def clear(self) -> None:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if to is None or message["To"] == to:
                found.append(message)
        return found

    def last(self, to: str) -> EmailMessage:
        messages = self.messages(to)
        assert messages, f"no mail to {to}"
        return messages[-1]

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()

    def link(self, to: str, containing: str) -> str:
        """The path of the first link in the newest mail to `to` whose URL contains `containing`."""
        for url in URL_RE.findall(self.text(self.last(to))):
            if containing in url:
                return url.removeprefix("http://localhost")
        raise AssertionError(f"no link with {containing!r} in the last mail to {to}")


@pytest.fixture
def mailbox(app) -> Mailbox:
    box = Mailbox(Path(app.config["MAIL_OUTBOX"]))
    box.clear()
    return box


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def without_csrf(html: str) -> str:
    return CSRF_RE.sub('name="csrf_token" value="…"', html)


def submit(client, page: str, data: dict | None = None, action: str | None = None, **kwargs):
    """Open `page`, then post its form (with the page's CSRF token) to `action` or the page."""
    shown = client.get(page)
    assert shown.status_code == 200, (page, shown.status_code)
    form = {"csrf_token": csrf_token(shown.get_data(as_text=True)), **(data or {})}
    # Read the whole answer, as a browser does: work a view leaves for after the response
    # (e.g. the mail for a reset request) runs when the response is closed.
    kwargs.setdefault("buffered", True)
    return client.post(action or page, data=form, **kwargs)


def register_and_verify(client, mailbox: Mailbox, email: str, password: str = PASSWORD):
    """Register through the page and confirm by the link from the outbox, then sign out (as if
    the mail had been opened later); returns the page the confirmation led to."""
    response = submit(client, "/account/register", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    link = mailbox.link(email, "/account/verify/")
    page = submit(client, link, follow_redirects=True)
    logout(client)
    return page


def login(client, email: str, password: str = PASSWORD):
    return submit(client, "/account/login", {"email": email, "password": password})


def logout(client):
    return submit(client, "/account", action="/account/logout")


def make_supporter(
    email: str, password: str | None = PASSWORD, verified: bool = True, name: str = ""
) -> Supporter:
    """A supporter as registration leaves them (hashing once here keeps tests quick)."""
    supporter = Supporter(
        email=email,
        password_hash=hash_password(password) if password else None,
        email_verified_at=utcnow() if verified else None,
        name=name,
    )
    db.session.add(supporter)
    db.session.commit()
    return supporter


def add_pledge(
    campaign_slug: str,
    email: str,
    amount_minor: int = 1000,
    status: str = "active",
    interval: str = "month",
    supporter_id: int | None = None,
) -> Pledge:
    """A pledge as the webhook handlers would mirror it from Stripe."""
    campaign = campaign_by_slug(campaign_slug)
    pledge = Pledge(
        stripe_subscription_id=f"sub_test_{email}_{amount_minor}_{status}",
        stripe_customer_id="cus_test",
        stripe_item_id="si_test",
        campaign_id=campaign.id,
        email=email,
        supporter_id=supporter_id,
        amount_minor=amount_minor,
        currency=campaign.currency,
        interval=interval,
        status=status,
        next_payment_at=utcnow() + timedelta(days=20),
    )
    db.session.add(pledge)
    db.session.commit()
    return pledge


def pdf_text(data: bytes) -> str:
    """The text drawn in a PDF made by fpdf2, each font's glyphs mapped back via its ToUnicode."""
    objects = {
        int(number): body for number, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", data, re.S)
    }

    def stream_of(number: int) -> bytes:
        raw = re.search(rb"stream\r?\n(.*?)endstream", objects[number], re.S).group(1)
        try:
            return zlib.decompress(raw)
        except zlib.error:
            return raw

    def cmap_of(font_number: int) -> dict[int, str] | None:
        ref = re.search(rb"/ToUnicode (\d+) 0 R", objects[font_number])
        if not ref:
            return None  # a core font: the bytes are the text
        pairs = re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", stream_of(int(ref.group(1))))
        return {int(code, 16): bytes.fromhex(u.decode()).decode("utf-16-be") for code, u in pairs}

    fonts = {}
    for body in objects.values():
        for resources in re.findall(rb"/Font\s*<<(.*?)>>", body, re.S):
            for name, number in re.findall(rb"/(\w+) (\d+) 0 R", resources):
                fonts[name] = cmap_of(int(number))
    lines = []
    for number, body in objects.items():
        if b"stream" not in body or b"/Contents" in body:
            continue
        content, glyphs = stream_of(number), None
        for font, literal in re.findall(rb"/(\w+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\)\s*Tj", content):
            if font:
                glyphs = fonts.get(font)
                continue
            raw = _pdf_unescape(literal)
            if glyphs is None:
                lines.append(raw.decode("latin-1"))
            else:
                codes = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
                lines.append("".join(glyphs.get(code, "?") for code in codes))
    return "\n".join(line for line in lines if line)


def _pdf_unescape(literal: bytes) -> bytes:
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    out, i = bytearray(), 0
    while i < len(literal):
        char = literal[i : i + 1]
        if char != b"\\":
            out += char
            i += 1
            continue
        following = literal[i + 1 : i + 2]
        octal = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if octal:
            out.append(int(octal.group(), 8))
            i += 1 + len(octal.group())
        else:
            out += escapes.get(following, following)
            i += 2
    return bytes(out)


def add_follow_up(payment: LedgerEntry, kind: str, amount_minor: int, ref: str) -> LedgerEntry:
    """A refund or dispute step on an earlier payment, as the webhook handlers record it."""
    entry = LedgerEntry(
        stripe_ref=ref,
        kind=kind,
        campaign_id=payment.campaign_id,
        payment_ref=payment.payment_ref,
        charge_id=payment.charge_id,
        frequency=payment.frequency,
        amount_minor=amount_minor,
        currency=payment.currency,
        donor_email=payment.donor_email,
        supporter_id=payment.supporter_id,
        occurred_at=payment.occurred_at + timedelta(days=1),
    )
    return book(entry)
