"""Pen-test finding: years and ids out of range under /account get a 4xx with a reason."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import login, make_supporter

OUT_OF_RANGE = ["99999", "10000", "9999", "0", "1", "1969", "99999999999999999999999"]


@pytest.fixture
def signed_in(client, app):
    with app.app_context():
        make_supporter("years@example.org")
    login(client, "years@example.org")
    return client


@pytest.mark.parametrize("year", OUT_OF_RANGE)
@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_a_statement_year_out_of_range_is_refused_with_a_reason(signed_in, year, suffix):
    answer = signed_in.get(f"/account/statements/{year}{suffix}")
    assert answer.status_code == 400
    assert "between 1970 and 9998" in answer.get_data(as_text=True)


@pytest.mark.parametrize("year", ["1970", "2025", "9998"])
def test_a_year_in_range_without_gifts_is_simply_not_found(signed_in, year):
    answer = signed_in.get(f"/account/statements/{year}")
    assert answer.status_code == 404
    assert f"no gifts recorded in {year}" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/account/receipts/{}", "/account/pledges/{}", "/account/pledges/{}/card"]
)
def test_an_id_too_big_for_the_database_is_refused_not_a_crash(signed_in, path):
    answer = signed_in.get(path.format("9" * 25))
    assert answer.status_code in {400, 404}
