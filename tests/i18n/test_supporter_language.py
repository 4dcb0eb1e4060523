"""A supporter's language is remembered and used for what we send them, worker jobs too."""

from __future__ import annotations

import re

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import Supporter
from tests.accounts.conftest import PASSWORD, Mailbox, make_supporter, submit
from tests.helpers import ORIGIN, post_event, signed_in_session, sim_control
from tests.payments.conftest import start_pledge
from tests.payments.test_event_queue import work

NBSP = "\u00a0"


def test_german_supporters_renewal_receipt_from_the_worker_is_german(
    app,
    client,
    campaign,
    stripe_sim,
    queued_app,
    tmp_path,
):
    # The pledge was started on an English page; the account says German, and that wins.
    with app.app_context():
        db.session.add(Supporter(email="patron@example.org", language="de"))
        db.session.commit()
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    stripe_sim.flush()
    queued_app.config["STRIPE_API_BASE"] = stripe_sim.url
    renewal = stripe_sim.sim.events("invoice.paid")[-1]

    outbox = Mailbox(tmp_path)
    assert post_event(queued_app.test_client(), renewal).get_json()["queued"] is True
    assert outbox.messages("patron@example.org") == []
    work(queued_app)  # the RQ worker applies invoice.paid and renders the receipt

    [receipt] = outbox.messages("patron@example.org")
    assert receipt["Content-Language"] == "de"
    text, html = Mailbox.text(receipt), Mailbox.html(receipt)
    assert f"10,00{NBSP}€" in text and "€10.00" not in text
    # The date in German (a month name from Babel's German data) …
    months = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
    assert re.search(rf"\d{{1,2}}\. ({months}) \d{{4}}", text)
    # … the HTML in German, and its links to the German pages.
    assert '<html lang="de">' in html
    assert "/de/account" in text


def test_language_is_set_on_registration_and_changed_in_settings(app, client, campaign, mailbox):
    email = "reader@example.org"
    response = submit(client, "/fr/account/register", {"email": email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/fr/account/")
    with app.app_context():
        assert db.session.scalar(select(Supporter.language).filter_by(email=email)) == "fr"
        db.session.rollback()
    verify = mailbox.last(email)
    assert verify["Content-Language"] == "fr"
    link = mailbox.link(email, "/verify/")
    assert link.startswith("/fr/account/verify/")
    submit(client, link, follow_redirects=True)

    settings = client.get("/fr/account/settings")
    assert settings.status_code == 200
    markup = settings.get_data(as_text=True)
    assert re.search(r'<option selected value="fr">', markup)
    assert '<label for="language">' in markup
    changed = submit(
        client, "/fr/account/settings", {"language": "ru"}, action="/fr/account/settings/language"
    )
    assert changed.status_code == 302
    assert changed.headers["Location"] == "/ru/account/settings"
    with app.app_context():
        assert db.session.scalar(select(Supporter.language).filter_by(email=email)) == "ru"
        db.session.rollback()
    refused = submit(
        client, "/ru/account/settings", {"language": "xx"}, action="/ru/account/settings/language"
    )
    assert refused.status_code == 422


def test_a_signed_in_supporter_giving_on_a_german_page_gets_german(
    app, client, campaign, stripe_sim, mailbox
):
    with app.app_context():
        supporter = make_supporter("giver@example.org")
        supporter_id, version = supporter.id, supporter.session_version
    signed_in_session(client, supporter_id, version)
    form = {"campaign": campaign, "amount": "25", "currency": "EUR", "frequency": "one-time"}
    assert client.post("/de/donate", data=form, headers=ORIGIN).status_code == 303
    with app.app_context():
        assert db.session.get(Supporter, supporter_id).language == "de"
        db.session.rollback()


def test_statement_pdf_is_in_the_supporters_language(app, client, campaign):
    from datetime import UTC, datetime

    from fundraiser.campaigns.services import campaign_by_slug
    from tests.dashboard.factories import payment

    with app.app_context():
        supporter = make_supporter("statement@example.org")
        supporter.language = "de"
        payment(campaign_by_slug(campaign), 2500, email=supporter.email)
        db.session.commit()
        supporter_id, version = supporter.id, supporter.session_version
    signed_in_session(client, supporter_id, version)
    year = datetime.now(UTC).year
    german = client.get(f"/account/statements/{year}.pdf")  # an English page: the account wins
    assert german.status_code == 200 and german.mimetype == "application/pdf"
    assert b"/Lang (de)" in german.data
    with app.app_context():
        db.session.get(Supporter, supporter_id).language = "en"
        db.session.commit()
    english = client.get(f"/account/statements/{year}.pdf")
    assert b"/Lang (en)" in english.data
