"""Hostile input to the public pages and JSON: never a server error, nothing stored if refused."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import BASE_URL
from tests.fuzz.conftest import ANY_TEXT, FUZZ, assert_answered_sanely, row_counts

SAME_ORIGIN = {"Origin": BASE_URL}
FORM_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/json",
    "text/plain; charset=utf-16",
    "",
]


def field(*likely: str):
    """Mostly plausible values (so validation gets deep), sometimes anything at all."""
    return st.one_of(st.sampled_from(likely), ANY_TEXT, st.lists(ANY_TEXT, max_size=3))


donation_forms = st.fixed_dictionaries(
    {},
    optional={
        "campaign": field("kazakhstan", "KAZAKHSTAN", "nope"),
        "amount": field("5", "25", "100", "other", "0", "-5", "10001", "2.505", "1,000"),
        "amount_other": field("12.50", "12,50", "0.01", "1e3", "9999999999999999999"),
        "currency": field("EUR", "GBP", "USD", "eur", "XYZ"),
        "frequency": field("one-time", "monthly", "yearly", "weekly"),
        "email": st.one_of(field("reader@example.org", "not-an-email", "a@b"), st.emails()),
        "name": ANY_TEXT,
        "message": ANY_TEXT,
        "anonymous": field("1", "on", "true"),
        "cover_fees": field("1", "on", "yes"),
    },
)


@FUZZ
@given(form=donation_forms, same_origin=st.booleans())
def test_donate_form_with_any_field_values(app, client, campaign, stripe_sim, form, same_origin):
    with app.app_context():
        before = row_counts()
    headers = SAME_ORIGIN if same_origin else {}
    response = client.post("/donate", data=form, headers=headers)
    assert_answered_sanely(response, {303, 400, 403, 429} if same_origin else {403})
    if response.status_code != 303:
        with app.app_context():
            assert row_counts() == before
        if response.status_code == 400 and response.mimetype == "text/html":
            assert "<!doctype html>" in response.get_data(as_text=True)[:50].lower()


@FUZZ
@given(body=st.binary(max_size=4000), content_type=st.sampled_from(FORM_TYPES))
def test_donate_with_raw_bodies_in_any_encoding(app, client, campaign, body, content_type):
    with app.app_context():
        before = row_counts()
    headers = {**SAME_ORIGIN, "Content-Type": content_type}
    response = client.post("/donate", data=body, headers=headers)
    assert_answered_sanely(response, {400, 403, 415, 429})
    with app.app_context():
        assert row_counts() == before


@pytest.mark.parametrize(
    "body",
    [
        b"campaign=kazakhstan&amount=%ff%fe&currency=%C0%80&email=%ED%A0%80@x.org",
        b"campaign=kazakhstan&amount=25&currency=EUR&name=\xff\xfe\xfd",
        "campaign=kazakhstan&amount=25&currency=EUR&name=Zoë".encode("latin-1"),
        b"campaign=kazakhstan&" + b"&".join(b"k%d=v" % i for i in range(5000)),
        b"campaign=kazakhstan&amount=" + b"9" * 100_000,
    ],
)
def test_donate_with_broken_encodings(app, client, campaign, body):
    headers = {**SAME_ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/donate", data=body, headers=headers)
    assert_answered_sanely(response, {400, 413})
    with app.app_context():
        assert sum(row_counts().values()) == row_counts()["campaigns"]


@FUZZ
@given(slug=st.one_of(ANY_TEXT, st.from_regex(r"[a-z0-9-]{1,80}", fullmatch=True)))
def test_totals_api_with_any_slug(client, campaign, slug):
    response = client.get(f"/api/campaigns/{quote(slug, safe='')}/totals")
    assert_answered_sanely(response, {200, 400, 404, 308})
    if response.status_code != 308:
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert ("raised_minor" in body) if response.status_code == 200 else ("reason" in body)


@FUZZ
@given(channel=st.one_of(st.sampled_from(["paypal", "patreon"]), ANY_TEXT), slug=ANY_TEXT)
def test_outbound_links_with_any_channel_and_campaign(app, client, campaign, channel, slug):
    with app.app_context():
        before = row_counts()
    response = client.get(f"/out/{quote(channel, safe='')}", query_string={"campaign": slug})
    assert_answered_sanely(response, {302, 400, 404, 308})
    if response.status_code == 302:
        assert response.headers["Location"].startswith("https://")
    else:
        with app.app_context():
            assert row_counts() == before


@FUZZ
@given(
    session_id=st.one_of(ANY_TEXT, st.from_regex(r"cs_[A-Za-z0-9_]{1,60}", fullmatch=True)),
    intent=st.one_of(ANY_TEXT, st.from_regex(r"[0-9a-f]{32}", fullmatch=True)),
)
def test_return_pages_with_any_ids(app, client, campaign, stripe_sim, session_id, intent):
    with app.app_context():
        before = row_counts()
    thanks = client.get("/donate/thanks", query_string={"session_id": session_id})
    assert_answered_sanely(thanks, {404})
    cancelled = client.get("/donate/cancelled", query_string={"intent": intent})
    assert_answered_sanely(cancelled, {302})
    with app.app_context():
        assert row_counts() == before


@FUZZ
@given(
    query=st.binary(max_size=300),
    request_id=st.text(st.characters(min_codepoint=32, max_codepoint=126)),
)
def test_healthz_and_query_strings_that_are_not_utf8(client, campaign, query, request_id):
    for path in ("/healthz", "/donate/thanks", "/donate/cancelled", "/", "/out/paypal"):
        response = client.get(
            path,
            headers={"X-Request-ID": request_id},
            environ_overrides={"QUERY_STRING": query.decode("latin-1")},
        )
        assert_answered_sanely(response)
