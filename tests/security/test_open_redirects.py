"""Every `next` parameter sends people only to our own pages, never to another site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

from tests.accounts.conftest import PASSWORD, csrf_token, mailbox, make_supporter  # noqa: F401
from tests.dashboard.conftest import post_form
from tests.dashboard.factories import make_staff

HOSTILE_NEXT = [
    "//evil.com",
    "https://evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http:evil.com",
    "https:/evil.com",
    "/\t/evil.com",
    "/\r\n/evil.com",
    " //evil.com",
    "https://localhost.evil.com/",
    "///evil.com",
]


def assert_stays_here(location: str) -> None:
    """What a browser would do with this Location keeps it on our site."""
    cleaned = "".join(c for c in location if c not in "\t\r\n").strip()
    parts = urlsplit(cleaned.replace("\\", "/"))
    if parts.scheme or parts.netloc:
        assert parts.scheme in {"http", "https"} and parts.hostname == "localhost", location
    else:
        assert cleaned.startswith("/") and not cleaned.startswith("//"), location


# Each sign-in flow is walked with a few of them (each walk hashes a password); the shared
# check those flows rely on is asked about every one.
WALKED = ["//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)"]


def test_the_redirect_check_itself_refuses_every_hostile_target():
    for target in HOSTILE_NEXT:
        with pytest.raises(AssertionError):
            assert_stays_here(target.strip())


def test_the_apps_safe_redirect_check_refuses_every_hostile_target(app):
    from fundraiser.security import is_safe_redirect

    with app.test_request_context("/account/login"):
        assert [t for t in HOSTILE_NEXT if is_safe_redirect(t)] == []
        assert is_safe_redirect("/account/settings") and is_safe_redirect("/staff/donations?q=x")


@pytest.mark.parametrize("target", WALKED)
def test_supporter_sign_in_ignores_a_hostile_next(app, client, campaign, target):
    with app.app_context():
        make_supporter("reader@example.org")
    page = client.get(f"/account/login?next={quote(target)}")
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "email": "reader@example.org",
        "password": PASSWORD,
        "next": target,
    }
    response = client.post(f"/account/login?next={quote(target)}", data=form)
    assert response.status_code == 302
    assert_stays_here(response.headers["Location"])


@pytest.mark.parametrize("target", WALKED)
def test_sign_in_link_ignores_a_hostile_next(app, client, campaign, mailbox, target):  # noqa: F811
    with app.app_context():
        make_supporter("reader@example.org")
    page = client.get(f"/account/sign-in-link?next={quote(target)}")
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "email": "reader@example.org",
        "next": target,
    }
    # buffered: the whole answer is read, so the mail made after it has been sent
    assert client.post("/account/sign-in-link", data=form, buffered=True).status_code == 302
    link = mailbox.link("reader@example.org", "/account/sign-in/")
    confirm = client.get(link)
    response = client.post(link, data={"csrf_token": csrf_token(confirm.get_data(as_text=True))})
    assert response.status_code == 302
    assert_stays_here(response.headers["Location"])


@pytest.mark.parametrize("target", WALKED)
def test_staff_sign_in_ignores_a_hostile_next(app, client, target):
    with app.app_context():
        staff = make_staff("admin")
    login = f"/staff/login?next={quote(target)}"
    credentials = {"email": staff.email, "password": staff.password}
    step = post_form(client, login, credentials, token_from=login)
    assert step.status_code == 302
    assert_stays_here(step.headers["Location"])
    code_page = step.headers["Location"]
    response = post_form(client, code_page, {"code": staff.code()}, token_from=code_page)
    assert response.status_code == 302
    assert_stays_here(response.headers["Location"])


def test_a_local_next_is_still_followed(app, client, campaign):
    with app.app_context():
        make_supporter("reader@example.org")
    page = client.get("/account/login?next=/account/settings")
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "email": "reader@example.org",
        "password": PASSWORD,
        "next": "/account/settings",
    }
    response = client.post("/account/login", data=form)
    assert response.headers["Location"] == "/account/settings"


def test_outbound_links_go_only_to_the_configured_sites(client, campaign):
    for target in HOSTILE_NEXT:
        response = client.get(f"/out/paypal?campaign=x&next={quote(target)}")
        assert response.headers["Location"].startswith("https://www.paypal.com/")
