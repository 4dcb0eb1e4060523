"""Reference exchange rates: reading the ECB's eurofxref CSV and converting between currencies.

Used where a gift's settled amount can't say what it is worth in a campaign's currency (the
campaign is not in the account's settlement currency, or Stripe hasn't settled it yet). The
ECB publishes how many units of each currency one euro buys, daily (`eurofxref.csv`: one
row, "Date, USD, JPY, …" then "28 November 2026, 1.0564, …") and as history
(`eurofxref-hist.csv`: "Date,USD,JPY,…," then one "2026-11-28,1.0564,…,N/A," row per day).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from fundraiser.database import dialect_insert
from fundraiser.extensions import db
from fundraiser.models import ExchangeRate
from fundraiser.money import decimals

#: Shipped for the demo and tests: one day of illustrative rates (not real ECB quotes) in the
#: daily file's format; `flask rates import` loads real ones.
DEMO_SNAPSHOT = Path(__file__).parent / "data" / "eurofxref-demo.csv"
_DATE_FORMATS = ("%d %B %Y", "%Y-%m-%d")


class RatesFileError(ValueError):
    """A rates file we can't read; the message says where and why (nothing was imported)."""


@dataclass(frozen=True)
class Rates:
    """Units per euro on one day (EUR included, as 1)."""

    day: date
    per_euro: dict[str, Decimal]

    def convert(self, amount_minor: int, source: str, target: str) -> int | None:
        """`amount_minor` of `source` in minor units of `target` (None without both rates)."""
        if source == target:
            return amount_minor
        if source not in self.per_euro or target not in self.per_euro:
            return None
        major = Decimal(amount_minor).scaleb(-decimals(source))
        converted = major * self.per_euro[target] / self.per_euro[source]
        return int(converted.scaleb(decimals(target)).quantize(Decimal(1), ROUND_HALF_EVEN))


def parse_eurofxref(text: str) -> dict[date, dict[str, Decimal]]:
    """Every day's rates in an ECB eurofxref CSV (daily or historical format)."""
    rows = list(csv.reader(io.StringIO(text), skipinitialspace=True))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows or rows[0][0].strip() != "Date":
        raise RatesFileError("This is not an ECB eurofxref file: the first cell must be 'Date'.")
    codes = [code.strip() for code in rows[0][1:]]
    for code in filter(None, codes):
        if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
            raise RatesFileError(f"Line 1: {code!r} is not a currency code.")
    if len(rows) == 1:
        raise RatesFileError("The file has a header but no rates.")
    days: dict[date, dict[str, Decimal]] = {}
    for number, row in enumerate(rows[1:], start=2):
        day = _day(row[0].strip(), number)
        if len(row) - 1 > len(codes) and any(cell.strip() for cell in row[len(codes) + 1 :]):
            raise RatesFileError(f"Line {number}: more values than currencies in the header.")
        rates = {}
        for code, cell in zip(codes, row[1:], strict=False):
            cell = cell.strip()
            if not code or cell in {"", "N/A"}:
                continue  # a currency the ECB no longer (or did not yet) quote
            rates[code] = _rate(cell, code, number)
        days[day] = rates
    return days


def _day(text: str, line: int) -> date:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise RatesFileError(f"Line {line}: {text!r} is not a date.")


def _rate(text: str, code: str, line: int) -> Decimal:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise RatesFileError(f"Line {line}: {text!r} is not a rate for {code}.") from None
    if not rate.is_finite() or rate <= 0:
        raise RatesFileError(f"Line {line}: the rate for {code} must be more than zero.")
    return rate


def import_file(path: Path) -> tuple[int, date, date]:
    """Store every rate in the file (replacing those of the same day); in the caller's
    transaction. Returns (rates stored, first day, last day). Reads everything first, so a
    malformed file raises RatesFileError before anything is written."""
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RatesFileError(f"Can't read {path}: {exc}") from exc
    days = parse_eurofxref(text)
    values = [
        {"day": day, "currency": code, "per_euro": rate}
        for day, rates in days.items()
        for code, rate in rates.items()
    ]
    for start in range(0, len(values), 1000):
        statement = dialect_insert(ExchangeRate)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "currency"], set_={"per_euro": statement.excluded.per_euro}
        )
        db.session.execute(statement, values[start : start + 1000])
    return len(values), min(days), max(days)


def latest_rates() -> Rates | None:
    """The newest day's rates we hold, or None if none were imported."""
    day = db.session.scalar(select(func.max(ExchangeRate.day)))
    if day is None:
        return None
    rows = db.session.execute(
        select(ExchangeRate.currency, ExchangeRate.per_euro).where(ExchangeRate.day == day)
    )
    per_euro = {currency: Decimal(rate) for currency, rate in rows}
    per_euro["EUR"] = Decimal(1)
    return Rates(day, per_euro)


@dataclass(frozen=True)
class CurrencySum:
    """One currency's ledger sum: gross (its own units), settled (settlement currency), and
    how many of its rows have not settled yet."""

    currency: str
    amount_minor: int
    settled_minor: int
    unsettled: int


def total_in(
    target: str,
    sums: list[CurrencySum],
    settlement: str,
    latest: Callable[[], Rates | None] = latest_rates,
) -> tuple[int, str | None]:
    """Every currency's sum counted in `target`: its own sum as it is; where `target` is the
    settlement currency and all its rows settled, what they settled to; else converted at
    the newest reference rates (from `latest`, which callers adding up several totals share).
    Returns (total, the rates' day as ISO date or None if no rate was needed). A currency
    without a reference rate is left out."""
    total, rates, rate_day = 0, None, None
    for item in sums:
        if item.currency == target:
            total += item.amount_minor
        elif target == settlement and not item.unsettled:
            total += item.settled_minor
        else:
            rates = rates or latest()
            converted = rates.convert(item.amount_minor, item.currency, target) if rates else None
            if converted is not None:
                total += converted
                rate_day = rates.day.isoformat()
    return total, rate_day


def currency_sums(*where) -> list[CurrencySum]:
    """Per currency, from the ledger's totals roll-up (optionally narrowed by `where`)."""
    from fundraiser.models import LedgerTotal

    rows = db.session.execute(
        select(
            LedgerTotal.currency,
            func.sum(LedgerTotal.amount_minor),
            func.sum(LedgerTotal.settled_minor),
            func.sum(LedgerTotal.unsettled),
        )
        .where(*where)
        .group_by(LedgerTotal.currency)
        .order_by(LedgerTotal.currency)
    )
    return [CurrencySum(c, int(a), int(s), int(u)) for c, a, s, u in rows]


rates_cli = AppGroup("rates", help="Reference exchange rates (ECB) for counting every currency.")


@rates_cli.command("import")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def import_command(file: Path | None) -> None:
    """Import the ECB's eurofxref CSV (daily or historical); no FILE: the shipped demo rates."""
    from fundraiser.payments import ledger
    from fundraiser.payments.rollups import announce_every_campaign

    path = file or DEMO_SNAPSHOT

    def store(tx):
        imported = import_file(path)
        announce_every_campaign(tx)  # totals counted at the old rates are old now
        return imported

    try:
        count, first, last = ledger.change("cli:rates-import", store)
    except RatesFileError as exc:
        raise click.ClickException(f"{exc} Nothing was imported.") from exc
    click.echo(f"Imported {count} rates for {first.isoformat()} to {last.isoformat()} from {path}.")
