"""Stories about rate limits: guessing and mail-bombing are slowed, across processes too."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from fundraiser import create_app
from fundraiser.extensions import limiter
from tests.accounts.conftest import PASSWORD, csrf_token, make_supporter

REDIS_LIMITS = "redis://127.0.0.1:6379/15"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def limited_app_config(app, app_config):
    config = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_LIMITS}
    yield config
    # Flask-Limiter keeps one state per process: hand it back to the shared test app (off).
    limiter.init_app(app)


@pytest.fixture
def limited_app(limited_app_config):
    return create_app(limited_app_config)


def _visitor(application, address: str | None = None):
    """A browser at its own address, so counts from other tests and runs never mix."""
    client = application.test_client()
    client.environ_base["REMOTE_ADDR"] = address or _random_address()
    return client


def _random_address() -> str:
    return "10.{}.{}.{}".format(*(random.randint(0, 255) for _ in range(3)))


def _unique_email() -> str:
    return f"limit-{uuid.uuid4().hex[:10]}@example.org"


def _post(client, page: str, data: dict):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(page, data={"csrf_token": token, **data}, buffered=True)


def test_sixth_sign_in_attempt_in_a_minute_gets_a_friendly_429(limited_app):
    client = _visitor(limited_app)
    for _ in range(5):
        answer = _post(client, "/account/login", {"email": _unique_email(), "password": "x" * 12})
        assert answer.status_code == 422
    blocked = _post(client, "/account/login", {"email": _unique_email(), "password": "x" * 12})
    assert blocked.status_code == 429
    assert "Slow down a little" in blocked.get_data(as_text=True)
    assert "Retry-After" in blocked.headers
    # Showing the form is never limited.
    assert client.get("/account/login").status_code == 200


def test_one_account_cannot_be_guessed_at_from_many_addresses(limited_app):
    email = _unique_email()
    answers = [
        _post(_visitor(limited_app), "/account/login", {"email": email, "password": "y" * 12})
        for _ in range(6)
    ]
    assert [a.status_code for a in answers[:5]] == [422] * 5
    assert answers[5].status_code == 429


def test_wrong_passwords_pause_password_sign_in_but_the_owner_can_use_a_link(limited_app, mailbox):
    """Pen-test finding: per-account throttle that a stranger cannot use to lock the owner out."""
    email, other = _unique_email(), _unique_email()
    with limited_app.app_context():
        make_supporter(email)
        make_supporter(other)
    for _ in range(5):  # a stranger, from many addresses
        wrong = _post(
            _visitor(limited_app), "/account/login", {"email": email, "password": "z" * 12}
        )
        assert wrong.status_code == 422
    owner = _visitor(limited_app)
    paused = _post(owner, "/account/login", {"email": email, "password": PASSWORD})
    assert paused.status_code == 429
    page = paused.get_data(as_text=True)
    assert "Email me a sign-in link" in page and 'action="/account/sign-in-link"' in page
    assert owner.get("/account").status_code == 302  # the right password did not get in now
    # Another account is not affected.
    assert _post(_visitor(limited_app), "/account/login", {"email": other, "password": PASSWORD})
    # The emailed link still works for the owner.
    asked = _post(owner, "/account/sign-in-link", {"email": email})
    assert asked.status_code == 302
    link = mailbox.link(email, "/account/sign-in/")
    assert _post(owner, link, {}).status_code == 302
    assert owner.get("/account").status_code == 200


def test_signing_in_successfully_never_counts_against_the_owner(limited_app):
    email = _unique_email()
    with limited_app.app_context():
        make_supporter(email)
    answers = [
        _post(_visitor(limited_app), "/account/login", {"email": email, "password": PASSWORD})
        for _ in range(12)
    ]
    assert [a.status_code for a in answers] == [302] * 12


@pytest.mark.parametrize("page", ["/account/reset", "/account/sign-in-link"])
def test_nobody_can_fill_an_inbox_with_links(limited_app, page):
    email = _unique_email()
    answers = [_post(_visitor(limited_app), page, {"email": email}) for _ in range(4)]
    assert [a.status_code for a in answers] == [302, 302, 302, 429]


def test_registration_is_limited_per_address(limited_app):
    client = _visitor(limited_app)
    answers = [
        _post(client, "/account/register", {"email": _unique_email(), "password": "short"})
        for _ in range(6)
    ]
    assert [a.status_code for a in answers] == [422] * 5 + [429]


def test_limits_hold_across_two_apps_and_another_process_sharing_redis(limited_app_config):
    """Two app instances, then a separate Python process: all count against one budget."""
    address = _random_address()
    first, second = create_app(limited_app_config), create_app(limited_app_config)
    for application in (first, first, first, second, second):
        answer = _post(_visitor(application, address), "/account/reset", {"email": _unique_email()})
        assert answer.status_code == 302
    assert (
        _post(_visitor(first, address), "/account/reset", {"email": _unique_email()}).status_code
        == 429
    )
    assert _status_from_another_process(limited_app_config, address) == 429
    assert _status_from_another_process(limited_app_config, _random_address()) == 302


def _status_from_another_process(config: dict, address: str) -> int:
    script = textwrap.dedent(
        """
        import json, sys
        from fundraiser import create_app
        from tests.accounts.test_rate_limits import _post
        config, address = json.loads(sys.argv[1]), sys.argv[2]
        client = create_app(config).test_client()
        client.environ_base["REMOTE_ADDR"] = address
        email = "other-process-" + address + "@example.org"
        print(_post(client, "/account/reset", {"email": email}).status_code)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(config, default=str), address],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])
