"""Who may use each /staff route: anonymous, supporter, viewer, staff, admin, and no-2FA staff."""

from __future__ import annotations

import pytest
from flask import url_for

from fundraiser import create_app
from tests.dashboard import factories as f
from tests.dashboard.conftest import csrf_token, sign_in_session

#: The least role each /staff endpoint needs. A new route fails the suite until it is listed.
REQUIRED_ROLE = {
    "dashboard.login": "public",
    "dashboard.second_factor": "public",
    "dashboard.enrol": "public",
    "dashboard.logout": "public",
    "dashboard.index": "viewer",
    "dashboard.account": "viewer",
    "dashboard.new_recovery_codes": "viewer",
    "dashboard.change_password": "viewer",
    "dashboard.campaign_list": "viewer",
    "dashboard.campaign": "viewer",
    "dashboard.donations": "viewer",
    "dashboard.export_donations": "viewer",
    "dashboard.donation": "viewer",
    "dashboard.supporters": "viewer",
    "dashboard.export_supporters": "viewer",
    "dashboard.supporter": "viewer",
    "dashboard.audit_log": "viewer",
    "dashboard.drift": "viewer",
    "dashboard.run_reconcile": "admin",
    "dashboard.refund": "staff",
    "dashboard.cancel_pledge": "staff",
    "dashboard.team": "admin",
    "dashboard.change_role": "admin",
    "dashboard.disable_member": "admin",
    "dashboard.enable_member": "admin",
    "dashboard.reset_member_2fa": "admin",
    "dashboard.open_campaign": "admin",
    "dashboard.close_campaign": "admin",
    "dashboard.default_campaign": "admin",
    "dashboard.messages": "viewer",
    "dashboard.moderate_message": "staff",
    "dashboard.new_campaign": "staff",
    "dashboard.edit_campaign": "staff",
    "dashboard.edit_translation": "staff",
    "dashboard.delete_translation": "staff",
    "dashboard.add_supporter_note": "staff",
    "dashboard.bookkeeping": "viewer",
    "dashboard.export_bookkeeping": "viewer",
    "dashboard.channels": "staff",
    "dashboard.paypal_import": "staff",
    "dashboard.patreon_import": "staff",
    "dashboard.record_offline_gift": "staff",
    "dashboard.reverse_offline_gift": "staff",
}
RANK = {"anonymous": -1, "supporter": 0, "viewer": 1, "staff": 2, "admin": 3}
ACTORS = ["anonymous", "supporter", "viewer", "staff", "admin", "admin-without-2fa"]


def _staff_rules() -> list[tuple[str, str]]:
    """Every (endpoint, method) under /staff, read from a freshly built app's URL map."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method))
    return sorted(found)


STAFF_RULES = _staff_rules()


def test_every_staff_route_has_an_entry_in_the_access_table():
    missing = sorted({endpoint for endpoint, _ in STAFF_RULES} - set(REQUIRED_ROLE))
    assert not missing, f"add these to REQUIRED_ROLE (and think about who may use them): {missing}"


@pytest.fixture
def world(app):
    """One of everything a /staff URL can name."""
    with app.app_context():
        campaign = f.make_campaign("matrix")
        pledge = f.pledge(campaign, 1000, email="patron@example.org")
        paid = f.payment(campaign, 2500, email="patron@example.org", pledge=pledge)
        member = f.make_staff("viewer", email="colleague@staff.example.org")
        note = f.gift_with_message(campaign, "Keep going!")
        return {
            "intent_id": note.id,
            "state": "approved",
            "slug": campaign.slug,
            "language": "de",
            "payment_ref": paid.payment_ref,
            "pledge_id": pledge.id,
            "member_id": member.id,
            "email": "patron@example.org",
            "entry_id": paid.id,
        }


def _url(app, endpoint: str, world: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **{name: world[name] for name in rule.arguments})


def _client_for(app, actor: str):
    client = app.test_client()
    if actor == "anonymous":
        return client
    role = actor.removesuffix("-without-2fa")
    with app.app_context():
        account = f.make_staff(role)
    sign_in_session(client, account)
    if actor.endswith("-without-2fa"):
        with client.session_transaction() as session:
            del session["staff_2fa"]
    return client


def _request(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    token = csrf_token(client, "/staff/login")  # a valid token, so CSRF is not what refuses
    return client.open(url, method=method, data={"csrf_token": token})


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("endpoint", "method"), STAFF_RULES)
def test_access_matrix(app, world, endpoint, method, actor):
    required = REQUIRED_ROLE.get(endpoint)
    assert required is not None, f"{endpoint} is missing from REQUIRED_ROLE"
    client = _client_for(app, actor)
    response = _request(client, method, _url(app, endpoint, world))
    location = response.headers.get("Location", "")
    assert response.status_code < 500
    if required == "public":
        return
    if actor in ("anonymous", "admin-without-2fa"):
        assert response.status_code == 302 and location.startswith("/staff/login"), actor
    elif RANK[actor] < RANK[required]:
        assert response.status_code == 403, (actor, response.status_code)
    else:
        assert response.status_code != 403
        assert not location.startswith("/staff/login"), "an allowed role was sent to sign in"
        if method == "GET" and response.status_code == 200 and response.mimetype == "text/html":
            title = response.get_data(as_text=True).split("<title>", 1)[1].split("</title>")[0]
            # A block pasted into page_title once put a whole section in <title>.
            assert "<" not in title and len(title) < 120, (endpoint, title[:200])


def test_a_staff_view_without_an_access_rule_is_refused_to_everyone(app_config):
    app = create_app(app_config)
    app.add_url_rule("/staff/forgotten", "dashboard.forgotten", lambda: "secret figures")
    response = app.test_client().get("/staff/forgotten")
    assert response.status_code == 403
    assert "secret figures" not in response.get_data(as_text=True)


def test_a_disabled_staff_member_loses_access_at_once(app, staff_of):
    client = app.test_client()
    account = staff_of("admin")
    sign_in_session(client, account)
    assert client.get("/staff/").status_code == 200
    with app.app_context():
        from fundraiser.extensions import db
        from fundraiser.models import Supporter

        member = db.session.get(Supporter, account.id)
        member.is_active = False
        member.session_version += 1
        db.session.commit()
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")


def test_staff_pages_are_never_cached(staff_client):
    response = staff_client("viewer").get("/staff/")
    assert response.headers["Cache-Control"] == "no-store"
