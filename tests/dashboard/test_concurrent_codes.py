"""One second-factor code signs in once, even sent at the same moment from several sign-ins.

Separate browsers (HTTP clients with their own cookies) each pass the password step against
the live server, then all send the same code at once; exactly one may end up signed in.
"""

from __future__ import annotations

import os
import re
import threading

import pytest
import requests

from tests.dashboard.factories import make_staff

pytestmark = pytest.mark.postgres_only

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
PARALLEL = 8
#: Rounds with a fresh account each: a race lost once is enough to fail.
ROUNDS = 3


@pytest.fixture(autouse=True)
def _needs_postgresql():
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("parallel sign-ins need PostgreSQL (set TEST_DATABASE_URL)")


def _token(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=30)
    return CSRF_RE.search(page.text).group(1)


def _pending_sign_in(base: str, staff) -> requests.Session:
    """A browser that has passed the password step and now shows the code page."""
    browser = requests.Session()
    token = _token(browser, f"{base}/staff/login")
    answer = browser.post(
        f"{base}/staff/login",
        data={"csrf_token": token, "email": staff.email, "password": staff.password},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/staff/login/code")
    return browser


def _all_at_once(base: str, browsers: list[requests.Session], code: str) -> list[bool]:
    """Every browser posts `code` together; True for each that got into the dashboard."""
    tokens = [_token(browser, f"{base}/staff/login/code") for browser in browsers]
    start = threading.Barrier(len(browsers))
    results: list[bool | None] = [None] * len(browsers)

    def submit(index: int) -> None:
        browser = browsers[index]
        start.wait()
        browser.post(
            f"{base}/staff/login/code",
            data={"csrf_token": tokens[index], "code": code},
            allow_redirects=False,
            timeout=60,
        )
        inside = browser.get(f"{base}/staff/", allow_redirects=False, timeout=30)
        results[index] = inside.status_code == 200

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_one_totp_code_sent_from_many_sign_ins_at_once_signs_in_one(app, live_server):
    for _ in range(ROUNDS):
        with app.app_context():
            staff = make_staff("admin")
        browsers = [_pending_sign_in(live_server.url, staff) for _ in range(PARALLEL)]
        results = _all_at_once(live_server.url, browsers, staff.code())
        assert results.count(True) == 1, results


def test_one_recovery_code_sent_from_many_sign_ins_at_once_signs_in_one(app, live_server):
    from fundraiser.dashboard import auth
    from fundraiser.extensions import db
    from fundraiser.models import Supporter

    with app.app_context():
        staff = make_staff("admin")
        codes = auth.replace_recovery_codes(db.session.get(Supporter, staff.id))
        db.session.commit()
    browsers = [_pending_sign_in(live_server.url, staff) for _ in range(PARALLEL)]
    results = _all_at_once(live_server.url, browsers, codes[0])
    assert results.count(True) == 1, results
    with app.app_context():
        assert auth.recovery_codes_left(db.session.get(Supporter, staff.id)) == 9
