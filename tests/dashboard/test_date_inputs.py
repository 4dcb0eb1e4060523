"""Every date a staff page reads from the query string: out of range or garbage gets a 400
that says why, never a 500 (the overview's chart range, the donations table and its CSV)."""

from __future__ import annotations

from html import unescape

import pytest

#: (path, date parameter, the other parameters the page needs to reach the date code).
DATE_PARAMETERS = [
    ("/staff/", "start", {}),
    ("/staff/", "end", {}),
    ("/staff/campaigns/appeal", "start", {}),
    ("/staff/campaigns/appeal", "end", {}),
    ("/staff/donations", "date_from", {}),
    ("/staff/donations", "date_to", {}),
    ("/staff/donations.csv", "date_from", {}),
    ("/staff/donations.csv", "date_to", {}),
]
OUT_OF_RANGE = ["0001-01-01", "0001-01-02", "1899-12-31", "9999-12-31", "9999-12-30"]
GARBAGE = [
    "10000-01-01",
    "99999-12-31",
    "2026-02-30",
    "2026-13-01",
    "-2026-01-01",
    "+2026-01-01",
    "2026-1-1x",
    "yesterday",
    "１２３４-01-01",
    "2026-01-01T00:00",
    "2026\x00-01-01",
    "9" * 400,
]
#: Zones far either side of UTC, where a far date's local midnight leaves the calendar first.
ZONES = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]
RANGE_REASON = "Choose a date between"


@pytest.fixture
def viewer(app, staff_client):
    from fundraiser.extensions import db
    from tests.dashboard import factories as f

    with app.app_context():
        f.make_campaign("appeal")
        db.session.commit()
    return staff_client("viewer")


def _answers(client, path: str, params: dict):
    response = client.get(path, query_string=params)
    return response.status_code, unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("path", "name", "extra"), DATE_PARAMETERS)
def test_far_dates_get_a_400_with_the_range_allowed(app, viewer, monkeypatch, zone, path, name,
                                                    extra):  # fmt: skip
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", zone)
    for value in OUT_OF_RANGE:
        status, page = _answers(viewer, path, {**extra, name: value})
        assert status == 400, (path, name, value, status)
        assert RANGE_REASON in page, (path, name, value)


@pytest.mark.parametrize(("path", "name", "extra"), DATE_PARAMETERS)
def test_garbage_dates_get_a_400_with_a_reason(app, viewer, path, name, extra):
    for value in GARBAGE:
        status, page = _answers(viewer, path, {**extra, name: value})
        assert status == 400, (path, name, value, status)
        assert "Not a valid date value." in page, (path, name, value)


@pytest.mark.parametrize("zone", ZONES)
def test_far_date_pairs_get_a_400(app, viewer, monkeypatch, zone):
    monkeypatch.setitem(app.config, "REPORTING_TIMEZONE", zone)
    pairs = [
        ("/staff/", {"start": "0001-01-01", "end": "0001-01-02"}),
        ("/staff/", {"start": "9999-12-30", "end": "9999-12-31"}),
        ("/staff/donations", {"date_from": "0001-01-01", "date_to": "9999-12-31"}),
        ("/staff/donations.csv", {"date_from": "9999-12-31", "date_to": "9999-12-31"}),
    ]
    for path, params in pairs:
        status, page = _answers(viewer, path, params)
        assert status == 400 and RANGE_REASON in page, (path, params, status)


def test_the_edges_of_the_allowed_range_work(app, viewer):
    from fundraiser.dashboard.periods import EARLIEST_DAY, LATEST_DAY

    first, last = EARLIEST_DAY.isoformat(), LATEST_DAY.isoformat()
    assert viewer.get("/staff/", query_string={"end": first}).status_code == 200
    assert viewer.get("/staff/", query_string={"start": last}).status_code == 200
    params = {"date_from": first, "date_to": last}
    assert viewer.get("/staff/donations", query_string=params).status_code == 200
    assert viewer.get("/staff/donations.csv", query_string=params).status_code == 200
