"""Pen-test finding: pre-registering someone's email must not give the registrant their account."""

from __future__ import annotations

from fundraiser.extensions import db
from fundraiser.models import LedgerEntry, Supporter
from tests.accounts.conftest import PASSWORD, add_pledge, login, submit
from tests.factories import add_payment

VICTIM = "victim@example.org"
ATTACKERS_PASSWORD = "attacker chose this one"


def _victim() -> Supporter:
    return db.session.scalar(db.select(Supporter).filter_by(email=VICTIM))


def _victims_giving(app, campaign) -> None:
    with app.app_context():
        add_payment(campaign, 2500, email=VICTIM)
        add_pledge(campaign, VICTIM, amount_minor=1200)


def _attacker_registers(app):
    attacker = app.test_client()
    response = submit(
        attacker, "/account/register", {"email": VICTIM, "password": ATTACKERS_PASSWORD}
    )
    assert response.status_code == 302
    return attacker


def _nothing_attached(app) -> None:
    with app.app_context():
        assert not _victim().is_verified
        assert db.session.scalar(db.select(LedgerEntry.supporter_id)) is None


def test_unverified_account_cannot_sign_in_with_its_password(client, app, campaign):
    _victims_giving(app, campaign)
    attacker = _attacker_registers(app)
    answer = login(attacker, VICTIM, ATTACKERS_PASSWORD)
    assert answer.status_code == 422
    assert "confirm your email address" in answer.get_data(as_text=True)
    assert attacker.get("/account").status_code == 302
    _nothing_attached(app)


def test_a_scanner_opening_the_verification_link_changes_nothing(client, app, campaign, mailbox):
    _victims_giving(app, campaign)
    _attacker_registers(app)
    link = mailbox.link(VICTIM, "/account/verify/")
    scanner = app.test_client()
    page = scanner.get(link)
    assert page.status_code == 200
    assert "Confirm my email address" in page.get_data(as_text=True)
    scanner.head(link)
    _nothing_attached(app)
    assert login(app.test_client(), VICTIM, ATTACKERS_PASSWORD).status_code == 422


def test_victim_verifying_by_link_drops_the_attackers_password(client, app, campaign, mailbox):
    _victims_giving(app, campaign)
    attacker = _attacker_registers(app)
    victim = client
    response = submit(victim, mailbox.link(VICTIM, "/account/verify/"))
    assert response.status_code == 302
    # The mailbox owner proved control: signed in, and invited to choose a password.
    assert response.location.endswith("/account/settings")
    page = victim.get("/account").get_data(as_text=True)
    assert "€25.00" in page and "€12.00" in page
    with app.app_context():
        assert _victim().is_verified and _victim().password_hash is None
    # The attacker's password no longer opens the account, and export is out of reach.
    assert login(attacker, VICTIM, ATTACKERS_PASSWORD).status_code == 422
    assert attacker.get("/account/data.json").status_code == 302


def test_victim_asking_for_a_sign_in_link_drops_the_attackers_password(
    client, app, campaign, mailbox
):
    _victims_giving(app, campaign)
    attacker = _attacker_registers(app)
    victim = client
    submit(victim, "/account/sign-in-link", {"email": VICTIM})
    link = mailbox.link(VICTIM, "/account/sign-in/")
    assert victim.get(link).status_code == 200
    _nothing_attached(app)  # opening the link changed nothing
    response = submit(victim, link)
    assert response.status_code == 302
    assert "€25.00" in victim.get("/account").get_data(as_text=True)
    with app.app_context():
        assert _victim().is_verified and _victim().password_hash is None
    assert login(attacker, VICTIM, ATTACKERS_PASSWORD).status_code == 422
    assert attacker.get("/account").status_code == 302


def test_the_browser_that_registered_keeps_its_password(client, app, mailbox):
    submit(client, "/account/register", {"email": "own@example.org", "password": PASSWORD})
    response = submit(client, mailbox.link("own@example.org", "/account/verify/"))
    assert response.status_code == 302 and response.location.endswith("/account")
    assert client.get("/account").status_code == 200
    assert login(app.test_client(), "own@example.org", PASSWORD).status_code == 302


def test_a_later_registration_by_someone_else_does_not_inherit_the_first_browsers_proof(
    client, app, mailbox
):
    """The owner registers, the attacker re-registers: the owner's browser proves nothing now."""
    submit(client, "/account/register", {"email": VICTIM, "password": PASSWORD})
    _attacker_registers(app)
    submit(client, mailbox.link(VICTIM, "/account/verify/"))
    with app.app_context():
        assert _victim().is_verified and _victim().password_hash is None
    assert login(app.test_client(), VICTIM, ATTACKERS_PASSWORD).status_code == 422


def test_sessions_from_before_verification_end(client, app, mailbox):
    submit(client, "/account/register", {"email": VICTIM, "password": PASSWORD})
    with app.app_context():
        stale_id = _victim().get_id()
    before = app.test_client()
    with before.session_transaction() as session:
        session["_user_id"] = stale_id  # a session made while the account was unverified
        session["_fresh"] = True
    submit(client, mailbox.link(VICTIM, "/account/verify/"))
    assert before.get("/account").status_code == 302
