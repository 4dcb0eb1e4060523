"""Request bodies are capped (MAX_CONTENT_LENGTH): 413 in the site's look, even when chunked."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from tests.conftest import BASE_URL
from tests.fuzz.conftest import row_counts

LIMITED_POSTS = [
    ("/donate", "application/x-www-form-urlencoded", {"Origin": BASE_URL}),
    ("/stripe/webhook", "application/json", {"Stripe-Signature": "t=1,v1=00"}),
    ("/account/login", "application/x-www-form-urlencoded", {}),
    ("/account/register", "application/x-www-form-urlencoded", {}),
    ("/staff/login", "multipart/form-data; boundary=xyz", {}),
]


def oversized(app) -> bytes:
    return b"campaign=kazakhstan&message=" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)


@pytest.mark.parametrize(("path", "content_type", "headers"), LIMITED_POSTS)
def test_oversized_bodies_are_refused_with_413(app, client, campaign, path, content_type, headers):
    if path not in {rule.rule for rule in app.url_map.iter_rules()}:
        pytest.skip(f"{path} is not built yet")
    with app.app_context():
        before = row_counts()
    response = client.post(
        path, data=oversized(app), headers={**headers, "Content-Type": content_type}
    )
    assert response.status_code == 413
    if path.startswith("/stripe/"):
        assert response.get_json()["status"] == 413
    else:
        page = response.get_data(as_text=True)
        assert "That was too much to send" in page and 'class="skip-link"' in page
    with app.app_context():
        assert row_counts() == before


@pytest.mark.parametrize("path", ["/stripe/webhook", "/donate"])
def test_chunked_bodies_without_a_length_are_capped_too(app, live_server, campaign, path):
    """No Content-Length to refuse up front: the stream itself stops at the limit."""
    parts = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    chunk = b"x" * 65536
    chunks = (chunk for _ in range(app.config["MAX_CONTENT_LENGTH"] // len(chunk) + 2))
    try:
        connection.request(
            "POST",
            path,
            body=chunks,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": BASE_URL,
                "Stripe-Signature": "t=1,v1=00",
            },
            encode_chunked=True,
        )
        status = connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        status = 413  # the server answered and closed before we finished sending
    finally:
        connection.close()
    assert status == 413
