"""Stories about the emails payments trigger: receipts, pledge changes, failures, cancellations."""

from __future__ import annotations

from pathlib import Path

from fundraiser.payments import after_commit
from tests.accounts.conftest import add_pledge
from tests.factories import add_payment


def test_every_payment_gets_a_receipt(app, campaign, mailbox):
    with app.app_context():
        entry = add_payment(campaign, 2500, email="rita@example.org", frequency="monthly")
        after_commit.run([("payment_recorded", {"entry_id": entry.id})])
    mail = mailbox.last("rita@example.org")
    text = mailbox.text(mail)
    assert "receipt" in mail["Subject"].lower()
    assert "€25.00" in text and "monthly" in text
    assert "http://localhost/account" in text
    assert "€25.00" in mailbox.html(mail)


def test_pledge_change_is_confirmed_by_email(app, campaign, mailbox):
    with app.app_context():
        pledge = add_pledge(campaign, "sam@example.org", amount_minor=800)
        after_commit.run([("pledge_changed", {"pledge_id": pledge.id})])
        pledge_id = pledge.id
    mail = mailbox.last("sam@example.org")
    assert mail["Subject"] == "Your regular gift has been changed"
    assert "€8.00 monthly" in mailbox.text(mail)
    assert mailbox.link("sam@example.org", "/account/pledges/") == f"/account/pledges/{pledge_id}"


def test_failed_payment_notice_links_to_the_card_update(app, campaign, mailbox):
    with app.app_context():
        pledge = add_pledge(campaign, "tia@example.org", status="past_due")
        after_commit.run(
            [
                (
                    "pledge_payment_failed",
                    {"pledge_id": pledge.id, "invoice_url": "https://invoice.example/inv_1"},
                )
            ]
        )
        pledge_id = pledge.id
    mail = mailbox.last("tia@example.org")
    text = mailbox.text(mail)
    assert mail["Subject"] == "Your regular gift could not be taken"
    assert f"http://localhost/account/pledges/{pledge_id}/card" in text
    assert "https://invoice.example/inv_1" in text


def test_cancellation_is_confirmed_by_email(app, campaign, mailbox):
    with app.app_context():
        pledge = add_pledge(campaign, "uma@example.org", status="cancelled")
        after_commit.run(
            [("pledge_cancelled", {"pledge_id": pledge.id, "reason": "Money is tight"})]
        )
    mail = mailbox.last("uma@example.org")
    assert mail["Subject"] == "Your regular gift has been cancelled"
    assert "Money is tight" in mailbox.text(mail)


def test_mail_trouble_never_reaches_the_payment_code(app, campaign, mailbox, caplog):
    with app.app_context():
        entry = add_payment(campaign, 2500, email="val@example.org")
        after_commit.run([("payment_recorded", {"entry_id": 999_999})])  # nothing to send
        outbox = app.config["MAIL_OUTBOX"]
        try:
            app.config["MAIL_OUTBOX"] = str(Path(outbox) / "not-a-folder.eml" / "x")
            (Path(outbox) / "not-a-folder.eml").write_text("a file where a folder should be")
            after_commit.run([("payment_recorded", {"entry_id": entry.id})])  # logged, not raised
        finally:
            app.config["MAIL_OUTBOX"] = outbox
    assert "send_receipt failed" in caplog.text
