"""Stories about a receipt: the language it is written in, when it is also the welcome, and
the campaign it names."""

from __future__ import annotations

import pytest

from fundraiser.accounts.notifications import send_receipt
from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from fundraiser.models import DonationIntent, LedgerEntry, utcnow
from tests.accounts.conftest import add_pledge, make_supporter
from tests.factories import payment


def _paid(slug: str, email: str, frequency: str = "one-time", **ids) -> int:
    """A payment booked without its after-commit effects, so each test sends the receipt."""
    campaign = campaign_by_slug(slug)
    return payment(campaign, 2500, frequency=frequency, email=email, announce=False, **ids).id


def _intent(slug: str, language: str) -> int:
    intent = DonationIntent(
        campaign_id=campaign_by_slug(slug).id,
        amount_minor=2500,
        currency="EUR",
        frequency="one-time",
        language=language,
    )
    db.session.add(intent)
    db.session.commit()
    return intent.id


def _supporter(email: str, language: str | None, closed: bool = False):
    supporter = make_supporter(email, password=None)
    supporter.language = language
    supporter.deleted_at = utcnow() if closed else None
    db.session.commit()
    return supporter


def _account(slug, email):
    return _paid(slug, email, supporter_id=_supporter(email, "de").id)


def _account_found_by_email(slug, email):
    _supporter(email, "fr")
    return _paid(slug, email.upper())  # the checkout kept the capitals they typed


def _account_without_a_language(slug, email):
    supporter = _supporter(email, None)
    return _paid(slug, email, supporter_id=supporter.id, intent_id=_intent(slug, "es"))


def _closed_account(slug, email):
    _supporter(email, "de", closed=True)
    return _paid(slug, email, intent_id=_intent(slug, "ru"))


def _pledge_given_on_a_page(slug, email):
    for address, language in ((f"another.{email}", "de"), (email, "fr")):
        pledge = add_pledge(slug, address)
        pledge.intent_id = _intent(slug, language)
        db.session.commit()
        entry_id = _paid(slug, address, "monthly", pledge_id=pledge.id)
    return entry_id


def _nothing_known(slug, email):
    return _paid(slug, email)


@pytest.mark.parametrize(
    ("setup", "language"),
    [
        (_account, "de"),
        (_account_found_by_email, "fr"),
        (_account_without_a_language, "es"),
        (_closed_account, "ru"),
        (_pledge_given_on_a_page, "fr"),
        (_nothing_known, "en"),
    ],
)
def test_a_receipt_is_written_in_the_readers_language(app, campaign, mailbox, setup, language):
    """Their account's language, else the language of the page they gave on, else English."""
    with app.app_context():
        entry_id = setup(campaign, "reader@example.org")
        recipient = db.session.get(LedgerEntry, entry_id).donor_email
        send_receipt(entry_id)
    [receipt] = mailbox.messages(recipient)
    assert receipt["Content-Language"] == language
    assert f'<html lang="{language}">' in mailbox.html(receipt)


def test_a_regular_gifts_first_receipt_is_the_welcome_and_later_ones_are_not(
    app, campaign, mailbox
):
    email = "regular@example.org"
    with app.app_context():
        pledge = add_pledge(campaign, email)
        first = _paid(campaign, email, "monthly", pledge_id=pledge.id)
        renewal = _paid(campaign, email, "monthly", pledge_id=pledge.id)
        one_off = _paid(campaign, email)
        for entry_id in (renewal, first, one_off):  # the order they are sent in doesn't matter
            send_receipt(entry_id)
    subjects = [receipt["Subject"] for receipt in mailbox.messages(email)]
    assert [subject.startswith("Welcome, and thank you") for subject in subjects] == [
        False,
        True,
        False,
    ]
    assert "regular supporter" in mailbox.text(mailbox.messages(email)[1])


def test_a_receipt_names_the_campaign_as_it_is_called_now(app, campaign, mailbox):
    email = "renamed@example.org"
    with app.app_context():
        entry_id = _paid(campaign, email)
        send_receipt(entry_id)
        campaign_by_slug(campaign).title = "A new name for the appeal"
        db.session.commit()
        send_receipt(entry_id)
    before, after = mailbox.messages(email)
    assert "A new name for the appeal" not in before["Subject"] + mailbox.text(before)
    assert after["Subject"].endswith("A new name for the appeal")
    assert "Campaign: A new name for the appeal" in mailbox.text(after)
    assert "A new name for the appeal</td>" in mailbox.html(after)
