"""CSV exports of donations and supporters: streamed, stable columns, formulas neutralised.

The column layouts are documented in docs/csv-export.md; add columns only at the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from fundraiser.dashboard.donations import DonationFilter, iter_donations
from fundraiser.dashboard.periods import reporting_zone
from fundraiser.dashboard.supporters import iter_supporters
from fundraiser.money import to_decimal

#: Characters that make a spreadsheet treat a cell as a formula (or hide one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Rows written per chunk sent to the client.
CHUNK_ROWS = 500

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


def donations_csv(donation_filter: DonationFilter) -> Iterator[str]:
    return csv_lines(DONATION_COLUMNS, donation_rows(donation_filter))


def supporters_csv(text: str = "") -> Iterator[str]:
    return csv_lines(SUPPORTER_COLUMNS, supporter_rows(text))
