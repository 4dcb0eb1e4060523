"""CSV exports of donations and supporters: streamed, stable columns, formulas neutralised.

The column layouts are documented in docs/csv-export.md; add columns only at the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Date, Numeric, Select, Text, case, cast, func, literal, select

from fundraiser.dashboard.donations import DonationFilter, donation_select, iter_donations
from fundraiser.dashboard.periods import reporting_zone
from fundraiser.dashboard.supporters import iter_supporters
from fundraiser.extensions import db
from fundraiser.models import LedgerTotal
from fundraiser.money import CURRENCY_RULES, decimals, to_decimal

#: Characters that make a spreadsheet treat a cell as a formula (or hide one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows written per chunk sent to the client.
CHUNK_ROWS = 500
#: Rows per chunk on PostgreSQL's COPY path (rows arrive ready-made; bigger chunks, fewer writes).
COPY_CHUNK_ROWS = 2000

DONATION_COLUMNS = (
    "payment_ref",
    "occurred_at_utc",
    "occurred_on_local",
    "campaign",
    "donor_email",
    "donor_name",
    "frequency",
    "status",
    "currency",
    "amount_minor",
    "fee_minor",
    "refunded_minor",
    "disputed_minor",
    "net_minor",
    "amount",
    "charge_id",
    "invoice_id",
    "subscription_id",
    "channel",
    "anonymous",
    "fee_cover_minor",
    "message",
    "campaign_title",
)

SUPPORTER_COLUMNS = (
    "email",
    "name",
    "currency",
    "gifts",
    "first_gift_at_utc",
    "last_gift_at_utc",
    "gross_minor",
    "refunds_minor",
    "disputes_minor",
    "fees_minor",
    "net_minor",
    "has_account",
    "show_publicly",
    "live_pledges",
)


def neutralise(value) -> str | int:
    """A cell as text, with a leading apostrophe if a spreadsheet would read it as a formula.

    Integers (our money columns) stay numbers; only text is prefixed.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def utc_text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header, then the rows in chunks; one small buffer is reused, so memory stays flat."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def donation_rows(donation_filter: DonationFilter) -> Iterator[tuple]:
    zone = reporting_zone()
    for row in iter_donations(donation_filter):
        yield (
            row.payment_ref,
            utc_text(row.occurred_at),
            row.occurred_at.astimezone(zone).date().isoformat(),
            row.campaign,
            row.donor_email,
            row.donor_name,
            row.frequency,
            row.status,
            row.currency,
            int(row.amount_minor),
            int(row.fee_minor),
            int(row.refunded_minor),
            int(row.disputed_minor),
            int(row.net_minor),
            str(to_decimal(int(row.amount_minor), row.currency)),
            row.charge_id,
            row.invoice_id,
            row.subscription_id,
            row.channel,
            row.anonymous,
            None if row.fee_cover_minor is None else int(row.fee_cover_minor),
            row.message,
            row.campaign_title,
        )


def supporter_rows(text: str = "") -> Iterator[tuple]:
    for row in iter_supporters(text):
        gross, refunds, disputes, fees = (
            int(row.gross_minor),
            int(row.refunds_minor),
            int(row.disputes_minor),
            int(row.fees_minor),
        )
        yield (
            row.email,
            row.name,
            row.currency,
            int(row.gifts),
            utc_text(_as_datetime(row.first_gift_at)),
            utc_text(_as_datetime(row.last_gift_at)),
            gross,
            refunds,
            disputes,
            fees,
            gross - refunds - disputes - fees,
            row.account_id is not None,
            bool(row.show_publicly),
            int(row.live_pledges),
        )


def _as_datetime(value) -> datetime | None:
    """MIN/MAX over a subquery may come back as text on SQLite; read it as UTC."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def donations_csv(donation_filter: DonationFilter) -> Iterator[str] | Iterator[bytes]:
    """The donations CSV; on PostgreSQL written by the server itself (COPY), same bytes."""
    if db.session.get_bind().dialect.name == "postgresql":
        return copy_csv(donation_copy_select(donation_filter))
    return csv_lines(DONATION_COLUMNS, donation_rows(donation_filter))


# --- PostgreSQL: COPY (SELECT …) TO STDOUT ---------------------------------------------------
#
# Building a million CSV lines in Python costs ~40 µs a row; PostgreSQL's COPY writes them in a
# fraction of that. Every cell is formatted in SQL exactly as the Python path formats it (the
# test compares the bytes): text neutralised against formulas, empty text as NULL (COPY would
# quote an empty string), times as text, the amount in major units. COPY's CSV quoting is
# RFC 4180 like Python's csv module (a cell is quoted if it holds a comma, a quote, CR or LF).


def _cell(text):
    """A text cell as neutralise() writes it: formula starts get a leading apostrophe.

    The first character is read as a number (ascii(): 0 for '', NULL for NULL), about half
    the work of comparing substr(text, 1, 1) as text. PostgreSQL evaluates `text` once per
    mention, so give it plain columns; a computed cell that can never start like a formula
    nor be empty goes in as it is."""
    formula = func.ascii(text).in_([ord(start) for start in FORMULA_STARTS])
    return case((formula, literal("'").concat(text)), else_=func.nullif(text, ""))


def _major_units(amount, currency):
    """str(to_decimal(amount, currency)): "12.50", or "500" for yen, per currency's decimals
    (every currency in the books or that we take; any other is read with two, as Babel does)."""
    booked = db.session.scalars(select(LedgerTotal.currency).distinct())
    places = {code: decimals(code) for code in {*booked, *CURRENCY_RULES}}

    def major(n: int):
        return cast(func.round(cast(amount, Numeric) / 10**n, n), Text) if n else cast(amount, Text)

    others = major(2)
    branches = [(currency == code, major(n)) for code, n in sorted(places.items()) if n != 2]
    return case(*branches, else_=others) if branches else others


def donation_copy_select(donation_filter: DonationFilter) -> Select:
    """The donations export as one SELECT whose columns are the CSV's cells."""
    rows = donation_select(donation_filter).order_by(None).subquery("donations")
    c = rows.c
    # Times as ISO text (copy_csv sets DateStyle to ISO): "2026-03-10 18:29:59" with its
    # space made a "T", and the local day a date's text; cheaper than to_char's patterns.
    utc = func.date_trunc("second", func.timezone("UTC", c.occurred_at))
    local = cast(func.timezone(reporting_zone().key, c.occurred_at), Date)
    # Computed cells are not passed through _cell, which would compute them three times
    # (1M rows: most of the export's time). None of them can start like a formula or be
    # empty: times and the amount start with a digit (a payment's amount is positive, a
    # CHECK says so); the status is one of GiftStatus's words; the channel one of LABELS
    # (ledger_entries.channel is CHECKed against the known channels); the currency is three
    # capital letters (CHECKed too). test_export_copy compares the bytes with the Python path.
    cells = [
        _cell(c.payment_ref),
        func.replace(cast(utc, Text), " ", "T").concat("Z"),
        cast(local, Text),
        _cell(c.campaign),
        _cell(c.donor_email),
        _cell(c.donor_name),
        _cell(c.frequency),
        c.status,
        c.currency,
        c.amount_minor,
        c.fee_minor,
        c.refunded_minor,
        c.disputed_minor,
        c.net_minor,
        _major_units(c.amount_minor, c.currency),
        _cell(c.charge_id),
        _cell(c.invoice_id),
        _cell(c.subscription_id),
        c.channel,
        case((c.anonymous.is_(True), "yes"), (c.anonymous.is_(False), "no")),
        c.fee_cover_minor,
        _cell(c.message),
        _cell(c.campaign_title),
    ]
    labelled = [cell.label(name) for cell, name in zip(cells, DONATION_COLUMNS, strict=True)]
    return select(*labelled).order_by(c.occurred_at.desc(), c.id.desc())


def copy_csv(statement: Select) -> Iterator[bytes]:
    """Stream `COPY (statement) TO STDOUT` as CSV with a header, in chunks of rows.

    COPY ends lines with LF; the export's lines end with CRLF. libpq hands over exactly one
    row per read, so each row's final LF is swapped (an LF inside a quoted cell is kept).
    """
    connection = db.session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    sql = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER)"
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:
        # For this transaction only: price random reads as on SSD or cache (the default, 4,
        # assumes spinning disks). PostgreSQL then walks ix_ledger_kind_time backwards, rows
        # already newest first, instead of sorting a million formatted rows on disk (9 s →
        # 7 s for 1M rows on the bench box).
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        # The times' text (see donation_copy_select) whatever the server's default.
        cursor.execute("SET LOCAL DateStyle = 'ISO'")
    with driver.cursor() as cursor, cursor.copy(sql, compiled.params) as copy:
        chunk: list[bytes] = []
        for row in copy:
            chunk.append(bytes(row[:-1]))
            if len(chunk) == COPY_CHUNK_ROWS:
                yield b"\r\n".join(chunk) + b"\r\n"
                chunk = []
        if chunk:
            yield b"\r\n".join(chunk) + b"\r\n"


def supporters_csv(text: str = "") -> Iterator[str]:
    return csv_lines(SUPPORTER_COLUMNS, supporter_rows(text))
