"""One page per supporter: gifts with what their checkout said, pledges, verified email,
anonymity and staff notes; found by email or name."""

from __future__ import annotations

from sqlalchemy import select

from fundraiser.extensions import db
from fundraiser.models import AuditEntry, DonationIntent, StaffNote, Supporter
from tests.dashboard import factories as f
from tests.dashboard.conftest import post_form
from tests.dashboard.pages import figure_text

EMAIL = "rosa@example.org"


def gift_with_checkout(campaign, amount: int, **checkout):
    intent = DonationIntent(
        campaign_id=campaign.id,
        amount_minor=amount,
        currency=campaign.currency,
        frequency="one-time",
        email=EMAIL,
        status="paid",
        **checkout,
    )
    db.session.add(intent)
    db.session.commit()
    paid = f.payment(campaign, amount + intent.fee_cover_minor, email=EMAIL, name="Rosa L")
    paid.intent_id = intent.id
    db.session.commit()
    return paid


def seed(app) -> None:
    with app.app_context():
        campaign = f.make_campaign("kazakhstan", title="What lies behind Kazakhstan’s turmoil?")
        gift_with_checkout(
            campaign, 2500, anonymous=True, message="Keep going!", fee_cover_minor=88
        )
        f.pledge(campaign, 1000, email=EMAIL)


def test_a_supporter_page_shows_each_gift_as_people_read_it(app, staff_client):
    seed(app)
    page = staff_client("viewer").get(f"/staff/supporters/{EMAIL}").get_data(as_text=True)
    history = page.split('id="history-title"')[1]
    assert "What lies behind Kazakhstan’s turmoil?" in history
    assert "One-off" in history and "one-time" not in history
    assert "Stripe" in history and "Keep going!" in history and "€0.88" in history
    assert "<td>yes</td>" in history  # gave anonymously
    assert "Asked to give anonymously" in figure_text(page, "gave-anonymously")
    assert figure_text(page, "email-verified") == "no account"
    assert "€10.00 every month" in page
    # The notes section once, in the page; the title is the email alone.
    assert page.count('id="notes-title"') == 1
    title = page.split("<title>")[1].split("</title>")[0]
    assert title.startswith(EMAIL) and "<" not in title and "&lt;" not in title


def test_staff_keep_notes_on_a_supporter_and_viewers_read_them(app, staff_client):
    seed(app)
    staff = staff_client("staff")
    path = f"/staff/supporters/{EMAIL}"
    response = post_form(staff, f"{path}/notes", {"body": "Called <b>her</b> back."}, path)
    assert response.status_code == 302
    page = staff_client("viewer").get(path).get_data(as_text=True)
    assert "Called &lt;b&gt;her&lt;/b&gt; back." in page
    assert 'action="/staff/supporters/rosa@example.org/notes"' not in page  # viewers only read
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "supporter.note_added")
        )
        assert entry.target == f"supporter:{EMAIL}"


def test_an_empty_or_overlong_note_is_refused_and_nothing_kept(app, staff_client):
    seed(app)
    staff = staff_client("staff")
    path = f"/staff/supporters/{EMAIL}"
    for body, reason in (("   ", "Please write the note."), ("x" * 2001, "under 2000")):
        response = post_form(staff, f"{path}/notes", {"body": body}, path)
        assert response.status_code == 302
        assert reason in staff.get(path).get_data(as_text=True)
    missing = post_form(staff, "/staff/supporters/nobody@example.org/notes", {"body": "x"}, path)
    assert missing.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(StaffNote)).all() == []


def test_supporters_are_found_by_email_or_name(app, staff_client):
    seed(app)
    client = staff_client("viewer")
    for query in ("rosa@", "Rosa L", "rosa l"):
        page = client.get("/staff/supporters", query_string={"q": query}).get_data(as_text=True)
        assert f'href="/staff/supporters/{EMAIL}"' in page, query
    page = client.get("/staff/supporters", query_string={"q": "nobody"}).get_data(as_text=True)
    assert EMAIL not in page


def test_the_supporter_page_says_which_language_we_write_to_them_in(app, staff_client):
    with app.app_context():
        campaign = f.make_campaign("kazakhstan")
        gift_with_checkout(campaign, 2500, language="en")
        gift_with_checkout(campaign, 1500, language="de")  # their latest checkout
    viewer = staff_client("viewer")
    page = viewer.get(f"/staff/supporters/{EMAIL}").get_data(as_text=True)
    assert figure_text(page, "language") == "Deutsch (de)"
    with app.app_context():
        db.session.add(Supporter(email=EMAIL, language="fr"))
        db.session.commit()
    page = viewer.get(f"/staff/supporters/{EMAIL}").get_data(as_text=True)
    assert figure_text(page, "language") == "Français (fr)"  # their account's choice wins
