"""Every route, as anyone, a supporter and staff: protective headers, cookie flags, CSRF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from fundraiser.campaigns.services import campaign_by_slug
from fundraiser.extensions import db
from tests.accounts.conftest import add_pledge, make_supporter
from tests.dashboard.conftest import sign_in_session
from tests.dashboard.factories import make_staff, payment
from tests.helpers import signed_in_session

# Routes that take no CSRF token, and what guards them instead.
TOKENLESS_POSTS = {
    "/stripe/webhook": "the Stripe signature",
    "/donate": "the same-origin check (the form sits on a page cached for everyone)",
    "/paypal/ipn": "PayPal's verification of the unaltered message (and the receiver check)",
    "/patreon/webhook": "the Patreon signature (HMAC-MD5)",
}
STRICT_REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


@dataclass
class Seeded:
    """Values for every route argument, so each parametrized page shows real data."""

    values: dict[str, object]
    supporter: object
    staff: object


@pytest.fixture
def seeded(app, campaign) -> Seeded:
    with app.app_context():
        supporter = make_supporter("reader@example.org", name="Reader")
        pledge = add_pledge(campaign, supporter.email, supporter_id=supporter.id)
        gift = payment(campaign_by_slug(campaign), 2500, email=supporter.email)
        staff = make_staff("admin")
        values = {
            "slug": campaign,
            "channel": "paypal",
            "reason": "register",
            "token": "not-a-real-token",
            "entry_id": gift.id,
            "year": datetime.now(UTC).year,
            "pledge_id": pledge.id,
            "payment_ref": gift.payment_ref,
            "email": supporter.email,
            "member_id": staff.id,
            "filename": "css/site.css",
            "state": "approved",
            "language": "de",
        }
        db.session.expunge_all()
    return Seeded(values, supporter, staff)


def without_language(path: str) -> str:
    """A supporter page's rule without its language prefix (fundraiser.i18n): same view."""
    return re.sub(r"^/<any\([a-z,]+\):lang>", "", path) or "/"


def url_for_rule(rule, values: dict) -> str:
    """The rule filled in from seeded values; unknown arguments get a plausible stand-in."""
    path = rule.rule
    for name, converter in rule._converters.items():
        stand_in = "de" if name == "lang" else 1 if "Integer" in type(converter).__name__ else "x"
        value = values.get(name, stand_in)
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(value), path)
    return path


def routes(app, method: str) -> list:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if method in rule.methods),
        key=lambda rule: rule.rule,
    )


def clients(app, seeded: Seeded) -> dict:
    """A stranger, a signed-in supporter and signed-in staff (second factor passed)."""
    supporter = app.test_client()
    signed_in_session(supporter, seeded.supporter.id, seeded.supporter.session_version)
    staff = app.test_client()
    sign_in_session(staff, seeded.staff)
    return {"stranger": app.test_client(), "supporter": supporter, "staff": staff}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def problems_with(response, secure_cookies: bool) -> list[str]:
    found = []
    headers = response.headers
    csp = csp_directives(headers.get("Content-Security-Policy", ""))
    scripts = csp.get("script-src", csp.get("default-src"))
    if scripts is None or {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(scripts):
        found.append(f"script-src allows inline or any script: {scripts}")
    if csp.get("frame-ancestors") not in (["'none'"], ["'self'"]):
        found.append(f"frame-ancestors is {csp.get('frame-ancestors')}")
    if csp.get("object-src") != ["'none'"]:
        found.append("object-src is not 'none'")
    if headers.get("X-Content-Type-Options") != "nosniff":
        found.append("no X-Content-Type-Options: nosniff")
    if headers.get("Referrer-Policy") not in STRICT_REFERRER_POLICIES:
        found.append(f"Referrer-Policy is {headers.get('Referrer-Policy')}")
    for cookie in headers.getlist("Set-Cookie"):
        flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
        if "httponly" not in flags:
            found.append(f"cookie without HttpOnly: {cookie[:40]}")
        if not {"samesite=lax", "samesite=strict"} & flags:
            found.append(f"cookie without SameSite=Lax: {cookie[:40]}")
        if secure_cookies and "secure" not in flags:
            found.append(f"cookie without Secure: {cookie[:40]}")
    if response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        if INLINE_SCRIPT.search(page):
            found.append("inline <script> (CSP would block it)")
        if INLINE_HANDLER.search(page):
            found.append("inline on…= event handler (CSP would block it)")
    return found


@pytest.mark.parametrize("secure_cookies", [False, True], ids=["http", "https"])
def test_every_page_sends_protective_headers_and_safe_cookies(
    app, seeded, monkeypatch, secure_cookies
):
    if secure_cookies:  # as in production: cookies marked Secure, pages served over HTTPS
        monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
        monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", True)
        monkeypatch.setitem(app.config, "PREFERRED_URL_SCHEME", "https")
    failures = {}
    visited = 0
    for who, client in clients(app, seeded).items():
        for rule in routes(app, "GET"):
            path = url_for_rule(rule, seeded.values)
            response = client.get(path)
            response.get_data()  # read streamed bodies (CSV exports) to the end, as a server does
            response.close()
            visited += 1
            assert response.status_code < 500, (who, path, response.status_code)
            if found := problems_with(response, secure_cookies):
                failures[f"{who} GET {path} ({response.status_code})"] = found
            if secure_cookies and response.status_code < 400:
                hsts = response.headers.get("Strict-Transport-Security", "")
                assert "max-age=" in hsts, (who, path)
    assert visited > 30
    assert failures == {}


def test_a_sign_in_page_sets_its_session_cookie_with_every_flag(app, campaign, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    monkeypatch.setitem(app.config, "PREFERRED_URL_SCHEME", "https")
    response = app.test_client().get("/account/login")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    flags = {flag.strip().lower() for flag in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax"} <= flags


def test_every_state_changing_route_refuses_a_post_without_its_csrf_token(app, seeded):
    failures = {}
    checked = 0
    for who, client in clients(app, seeded).items():
        for rule in routes(app, "POST"):
            if without_language(rule.rule) in TOKENLESS_POSTS:
                continue
            path = url_for_rule(rule, seeded.values)
            response = client.post(path, data={"email": "x@example.org", "amount": "5"})
            checked += 1
            if response.status_code not in (400, 403):
                failures[f"{who} POST {path}"] = response.status_code
    assert checked > 20
    assert failures == {}


def test_the_tokenless_posts_are_guarded_otherwise(client, campaign):
    form = {"campaign": campaign, "amount": "25", "currency": "EUR"}
    assert client.post("/donate", data=form).status_code == 403
    evil = {"Origin": "https://evil.example"}
    assert client.post("/donate", data=form, headers=evil).status_code == 403
    assert (
        client.post("/donate", data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code
        == 403
    )
    assert client.post("/stripe/webhook", json={"id": "evt_1"}).status_code == 400
    assert client.post("/patreon/webhook", json={"data": {}}).status_code == 400
    # Nobody answers VERIFIED at the test's verification address: PayPal would be asked to
    # send again, and nothing is stored.
    ipn = client.post("/paypal/ipn", data={"txn_id": "X1", "payment_status": "Completed"})
    assert ipn.status_code == 503 and ipn.data == b""


def test_only_the_known_routes_go_without_a_csrf_token(app):
    from fundraiser.extensions import csrf

    exempt = {
        without_language(rule.rule)
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
        and (
            f"{app.view_functions[rule.endpoint].__module__}.{app.view_functions[rule.endpoint].__name__}"
            in csrf._exempt_views
            or (rule.endpoint.split(".")[0] in csrf._exempt_blueprints)
        )
    }
    assert exempt == set(TOKENLESS_POSTS), "a new CSRF exemption needs its own guard and a test"
