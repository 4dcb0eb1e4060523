"""Stories about what a supporter sees of their giving: history, receipts, statements, pledges."""

from __future__ import annotations

from datetime import UTC, datetime

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Supporter
from tests.accounts.conftest import (
    PASSWORD,
    add_follow_up,
    add_pledge,
    login,
    make_supporter,
    pdf_text,
    register_and_verify,
    submit,
)
from tests.factories import add_payment


def test_gifts_made_before_the_account_appear_once_the_email_is_confirmed(
    client, app, campaign, mailbox
):
    with app.app_context():
        add_payment(campaign, 2500, email="ann@example.org")
        add_pledge(campaign, "ann@example.org", amount_minor=1200)
    submit(client, "/account/register", {"email": "ann@example.org", "password": PASSWORD})
    with app.app_context():
        assert db.session.scalar(db.select(LedgerEntry.supporter_id)) is None

    submit(client, mailbox.link("ann@example.org", "/account/verify/"))
    after = client.get("/account").get_data(as_text=True)
    assert "€25.00" in after and "€12.00" in after
    with app.app_context():
        supporter = db.session.scalar(db.select(Supporter).filter_by(email="ann@example.org"))
        entry = db.session.scalar(db.select(LedgerEntry))
        assert entry.supporter_id == supporter.id


def test_registering_someone_elses_email_reveals_nothing_and_warns_the_owner(
    client, app, campaign, mailbox
):
    with app.app_context():
        add_payment(campaign, 5000, email="owner@example.org")
        make_supporter("owner@example.org")
    response = submit(
        client, "/account/register", {"email": "owner@example.org", "password": "intruder password"}
    )
    assert response.location.endswith("/account/check-email/register")
    note = mailbox.last("owner@example.org")
    assert note["Subject"] == "Someone tried to create an account with your email"
    assert login(client, "owner@example.org", "intruder password").status_code == 422


def test_history_shows_campaign_amount_type_and_status(client, app, campaign, mailbox):
    with app.app_context():
        paid = add_payment(campaign, 2500, email="bo@example.org")
        monthly = add_payment(campaign, 1000, email="bo@example.org", frequency="monthly")
        refunded = add_payment(campaign, 3000, email="bo@example.org")
        add_follow_up(refunded, "refund", -3000, "re_full")
        partial = add_payment(campaign, 4000, email="bo@example.org")
        add_follow_up(partial, "refund", -1000, "re_part")
        disputed = add_payment(campaign, 7000, email="bo@example.org")
        add_follow_up(disputed, "dispute_opened", -7000, "dp_1:opened")
        ids = [paid.id, monthly.id, refunded.id, partial.id, disputed.id]
        title = paid.campaign.title
    register_and_verify(client, mailbox, "bo@example.org")
    login(client, "bo@example.org")
    page = client.get("/account").get_data(as_text=True)
    for amount in ("€25.00", "€10.00", "€30.00", "€40.00", "€70.00"):
        assert amount in page
    for status in ("Paid", "Refunded", "Partially refunded", "Disputed"):
        assert f">{status}<" in page
    assert "Recurring" in page and "One-off" in page
    assert title in page
    for entry_id in ids:
        assert f"/account/receipts/{entry_id}" in page


def test_receipt_page_for_a_payment(client, app, campaign, mailbox):
    with app.app_context():
        entry = add_payment(campaign, 2500, email="cy@example.org")
        entry_id, ref = entry.id, entry.payment_ref
    register_and_verify(client, mailbox, "cy@example.org")
    login(client, "cy@example.org")
    page = client.get(f"/account/receipts/{entry_id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Donation receipt" in body and "€25.00" in body and ref in body


def test_refund_rows_have_no_receipt_of_their_own(client, app, campaign, mailbox):
    with app.app_context():
        entry = add_payment(campaign, 2500, email="di@example.org")
        refund_id = add_follow_up(entry, "refund", -2500, "re_x").id
    register_and_verify(client, mailbox, "di@example.org")
    login(client, "di@example.org")
    assert client.get(f"/account/receipts/{refund_id}").status_code == 404


def test_yearly_statement_page_and_pdf(client, app, campaign, mailbox):
    with app.app_context():
        add_payment(campaign, 2500, email="ed@example.org", occurred_at=_at(2024, 3, 1))
        refunded = add_payment(campaign, 1000, email="ed@example.org", occurred_at=_at(2024, 6, 1))
        add_follow_up(refunded, "refund", -400, "re_ed")
        add_payment(campaign, 9900, email="ed@example.org", occurred_at=_at(2023, 6, 1))
    register_and_verify(client, mailbox, "ed@example.org")
    login(client, "ed@example.org")
    overview = client.get("/account").get_data(as_text=True)
    assert "/account/statements/2024" in overview and "/account/statements/2023" in overview

    page = client.get("/account/statements/2024").get_data(as_text=True)
    assert "€25.00" in page and "€10.00" in page and "€99.00" not in page
    assert "€31.00" in page  # 25 + 10 − 4 refunded

    pdf = client.get("/account/statements/2024.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.data)
    assert "€25.00" in text and "€31.00" in text and "€99.00" not in text

    assert client.get("/account/statements/2019").status_code == 404
    assert client.get("/account/statements/2019.pdf").status_code == 404


def test_pledges_show_amount_interval_status_and_next_payment(client, app, campaign, mailbox):
    with app.app_context():
        add_pledge(campaign, "fay@example.org", amount_minor=1500)
        failing = add_pledge(campaign, "fay@example.org", amount_minor=800, status="past_due")
        add_pledge(campaign, "fay@example.org", amount_minor=6000, interval="year", status="paused")
        failing_id = failing.id
    register_and_verify(client, mailbox, "fay@example.org")
    login(client, "fay@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "€15.00</strong> every month" in page
    assert "€60.00</strong> every year" in page
    assert "next payment" in page
    assert "Your last payment failed" in page
    assert f"/account/pledges/{failing_id}/card" in page
    detail = client.get(f"/account/pledges/{failing_id}").get_data(as_text=True)
    assert "Your last payment failed — update your card" in detail
    card = client.get(f"/account/pledges/{failing_id}/card")
    assert card.status_code == 200 and "Continue to Stripe" in card.get_data(as_text=True)


def test_cancelled_pledge_offers_no_actions(client, app, campaign, mailbox):
    with app.app_context():
        pledge_id = add_pledge(campaign, "gus@example.org", status="cancelled").id
    register_and_verify(client, mailbox, "gus@example.org")
    login(client, "gus@example.org")
    page = client.get(f"/account/pledges/{pledge_id}").get_data(as_text=True)
    assert "Cancelled" in page
    for action in ("amount", "interval", "pause", "resume", "cancel"):
        assert f"/account/pledges/{pledge_id}/{action}" not in page


def test_pages_with_personal_data_are_never_cached(client, app, mailbox):
    register_and_verify(client, mailbox, "hal@example.org")
    login(client, "hal@example.org")
    response = client.get("/account")
    assert "no-store" in response.headers["Cache-Control"]


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


def test_paypal_patreon_and_offline_gifts_join_the_history_and_statement_once_verified(
    client, app, campaign, mailbox
):
    from fundraiser.campaigns.services import campaign_by_slug
    from fundraiser.models import EntryKind
    from fundraiser.payments import channel_books, ledger

    def book(channel: str, external_id: str, amount: int, when: datetime) -> None:
        fact = channel_books.ChannelFact(
            channel=channel, external_id=external_id, kind=EntryKind.PAYMENT,
            campaign_id=campaign_by_slug(campaign).id, amount_minor=amount, currency="EUR",
            occurred_at=when, fee_minor=0, email="fay@example.org",
        )  # fmt: skip
        ledger.change("test", lambda tx: channel_books.record(fact, tx))

    with app.app_context():
        book("paypal", "8MC585209K746392H", 1700, _at(2024, 2, 1))
        book("patreon", "member-1:2024-03-01", 500, _at(2024, 3, 1))
        book("offline", "cash-2024-04", 2000, _at(2024, 4, 1))
    register_and_verify(client, mailbox, "fay@example.org")
    assert login(client, "fay@example.org").status_code == 302
    history = client.get("/account").get_data(as_text=True)
    assert all(amount in history for amount in ("€17.00", "€5.00", "€20.00"))
    statement = client.get("/account/statements/2024").get_data(as_text=True)
    assert "€42.00" in statement  # 17 + 5 + 20, each once
    assert "€42.00" in pdf_text(client.get("/account/statements/2024.pdf").data)
