"""Reference rates: `flask rates import` reads the ECB's eurofxref files, refuses broken ones
(changing nothing), and campaign totals count every currency with them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import ExchangeRate
from fundraiser.rates import DEMO_SNAPSHOT, latest_rates

HERE = Path(__file__).parent


def _count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ExchangeRate))


def test_the_daily_file_is_imported(app, runner):
    result = runner.invoke(args=["rates", "import", str(HERE / "eurofxref.csv")])
    assert result.exit_code == 0, result.output
    assert "Imported 30 rates for 2026-11-28" in result.output
    with app.app_context():
        rates = latest_rates()
        assert rates.day == date(2026, 11, 28)
        assert rates.per_euro["GBP"] == Decimal("0.84215")
        assert rates.per_euro["EUR"] == 1
        # €10.00 is £8.42 (8.4215, to the penny); ¥1000 is €6.13
        assert rates.convert(1000, "EUR", "GBP") == 842
        assert rates.convert(1000, "JPY", "EUR") == 613


def test_the_historical_file_is_imported_with_its_missing_rates_left_out(app, runner):
    result = runner.invoke(args=["rates", "import", str(HERE / "eurofxref-hist.csv")])
    assert result.exit_code == 0, result.output
    assert "1999-01-04 to 2026-11-28" in result.output
    with app.app_context():
        assert latest_rates().per_euro["GBP"] == Decimal("0.84215")
        old = db.session.scalars(
            select(ExchangeRate.currency).where(ExchangeRate.day == date(1999, 1, 4))
        ).all()
        assert "CYP" in old and "BGN" not in old  # "N/A" is no rate


def test_importing_the_same_day_again_replaces_it(app, runner):
    runner.invoke(args=["rates", "import", str(HERE / "eurofxref-hist.csv")])
    with app.app_context():
        before = _count()
    runner.invoke(args=["rates", "import", str(HERE / "eurofxref.csv")])
    with app.app_context():
        assert _count() == before


def test_the_shipped_demo_snapshot_imports(app, runner):
    result = runner.invoke(args=["rates", "import"])
    assert result.exit_code == 0, result.output
    assert str(DEMO_SNAPSHOT) in result.output


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "first cell must be 'Date'"),
        ("<html>Service unavailable</html>\n", "first cell must be 'Date'"),
        ("Date, USD, GBP\n", "no rates"),
        ("Date, USD, GBP\n31 February 2026, 1.05, 0.84\n", "is not a date"),
        ("Date, USD, GBP\n28 November 2026, 1.05, zero\n", "not a rate for GBP"),
        ("Date, USD, GBP\n28 November 2026, 1.05, -0.84\n", "more than zero"),
        ("Date, USD, gbp\n28 November 2026, 1.05, 0.84\n", "not a currency code"),
        ("Date, USD\n28 November 2026, 1.05, 0.84, 7\n", "more values than currencies"),
    ],
)
def test_a_broken_file_is_refused_with_a_reason_and_nothing_changes(
    app, runner, tmp_path, content, reason
):
    runner.invoke(args=["rates", "import", str(HERE / "eurofxref.csv")])
    with app.app_context():
        before = _count()
    broken = tmp_path / "eurofxref.csv"
    broken.write_text(content)
    result = runner.invoke(args=["rates", "import", str(broken)])
    assert result.exit_code != 0
    assert reason in result.output and "Nothing was imported" in result.output
    with app.app_context():
        assert _count() == before


def test_a_file_that_breaks_halfway_imports_nothing(app, runner, tmp_path):
    broken = tmp_path / "hist.csv"
    broken.write_text("Date,USD,GBP,\n2026-11-28,1.05,0.84,\n2026-11-27,1.05,oops,\n")
    result = runner.invoke(args=["rates", "import", str(broken)])
    assert result.exit_code != 0 and "Line 3" in result.output
    with app.app_context():
        assert _count() == 0


def test_a_missing_file_is_explained(runner, tmp_path):
    result = runner.invoke(args=["rates", "import", str(tmp_path / "nope.csv")])
    assert result.exit_code != 0 and "Can't read" in result.output
