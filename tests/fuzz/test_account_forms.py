"""Hostile input to the account and staff sign-in forms: never a 5xx, nothing kept if refused."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import ANY_TEXT, FUZZ, assert_answered_sanely, row_counts

# Forms a stranger can reach, with the fields each one reads. Add a form here as it is built.
PUBLIC_FORMS = {
    "/account/register": ("email", "password"),
    "/account/login": ("email", "password", "next"),
    "/account/reset": ("email",),
    "/account/sign-in-link": ("email", "next"),
    "/staff/login": ("email", "password"),
}
# Link pages that take a token from an email.
TOKEN_PAGES = ["/account/verify/{}", "/account/reset/{}", "/account/sign-in/{}"]
# Failed sign-ins are written to the audit log on purpose: that is kept, not leaked.
KEPT_ON_REFUSAL = {"audit_log"}
CSRF_FIELD = 'name="csrf_token"'


def existing(app, paths):
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    return [path for path in paths if path in rules]


def csrf_token_of(page: str) -> str:
    start = page.index(CSRF_FIELD)
    tag_start = page.rindex("<", 0, start)
    tag = page[tag_start : page.index(">", start)]
    return tag.split('value="', 1)[1].split('"', 1)[0]


def values(name: str):
    if name == "email":
        return st.one_of(
            st.emails(), ANY_TEXT, st.sampled_from(["reader@example.org", "a@b", "@", "x@y.z\x00"])
        )
    if name == "next":
        return st.one_of(ANY_TEXT, st.sampled_from(["/account", "//evil.example", "https://x"]))
    return st.one_of(ANY_TEXT, st.sampled_from(["correct horse battery staple", "password"]))


def comparable(counts: dict[str, int]) -> dict[str, int]:
    return {table: n for table, n in counts.items() if table not in KEPT_ON_REFUSAL}


@pytest.mark.parametrize("path", list(PUBLIC_FORMS))
def test_public_forms_with_any_values(app, path):
    if not existing(app, [path]):
        pytest.skip(f"{path} is not built yet")
    fields = PUBLIC_FORMS[path]

    # Fewer examples: each sign-in check hashes a password with argon2 on purpose.
    @settings(FUZZ, max_examples=25)
    @given(
        form=st.fixed_dictionaries({}, optional={name: values(name) for name in fields}),
        with_token=st.booleans(),
    )
    def post_anything(form, with_token):
        client = app.test_client()  # a stranger each time, even after a sign-in succeeded
        shown = client.get(path)
        assert shown.status_code == 200
        data = dict(form)
        if with_token:
            data["csrf_token"] = csrf_token_of(shown.get_data(as_text=True))
        with app.app_context():
            before = comparable(row_counts())
        response = client.post(path, data=data)
        assert_answered_sanely(response)
        if not with_token:
            assert response.status_code == 400, "a form without its CSRF token is refused"
        if response.status_code != 302:
            with app.app_context():
                assert comparable(row_counts()) == before

    post_anything()


@settings(FUZZ, max_examples=30)
@given(token=st.one_of(ANY_TEXT, st.from_regex(r"[A-Za-z0-9_.-]{10,200}", fullmatch=True)))
def test_link_pages_with_any_token(app, client, token):
    for pattern in existing(app, [p.format("<token>") for p in TOKEN_PAGES]):
        path = pattern.replace("<token>", quote(token, safe="") or "x")
        with app.app_context():
            before = row_counts()
        response = client.get(path)
        assert_answered_sanely(response, {200, 400, 404, 308})
        with app.app_context():
            assert row_counts() == before
