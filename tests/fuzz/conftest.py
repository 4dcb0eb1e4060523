"""Property tests' shared pieces: bounded hypothesis settings, row counts, hostile strings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fundraiser.extensions import db

# Bounded so the whole folder stays quick; CI runs a fixed sequence so a red run reproduces.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def row_counts() -> dict[str, int]:
    """Rows in every table, to prove a refused request stored nothing."""
    db.session.rollback()
    counts = {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return counts


def assert_answered_sanely(response, allowed=None) -> None:
    """Never a server error; and when the caller knows the possible answers, one of them."""
    assert response.status_code < 500, (response.status_code, response.get_data()[:500])
    if allowed is not None:
        assert response.status_code in allowed, (response.status_code, response.get_data()[:500])


# Text that has broken parsers elsewhere: control characters, surrogates' UTF-8 stand-ins,
# right-to-left marks, other scripts' digits, very long runs, and format-string bait.
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\r\n\t",
        "‮",
        "٥٠",
        "５０",
        "1e9999",
        "-0",
        "0x10",
        "NaN",
        "Infinity",
        "%s%n%x",
        "{0}{__class__}",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "../../etc/passwd",
        "\ufeff25",
        "𝟓",
        "9" * 400,
        "a" * 5000,
    ]
)
ANY_TEXT = st.one_of(NASTY_TEXT, st.text(max_size=300))
