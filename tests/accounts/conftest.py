"""Helpers for account stories: the outbox as a mailbox, forms with their CSRF token, people."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import Pledge, Supporter, utcnow
from fundraiser.passwords import hash_password

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
    return client.post(action or page, data=form, **kwargs)


def register_and_verify(client, mailbox: Mailbox, email: str, password: str = PASSWORD):
    """Register through the page and follow the link from the outbox; returns the last response."""
    response = submit(client, "/account/register", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(mailbox.link(email, "/account/verify/"), follow_redirects=True)


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
