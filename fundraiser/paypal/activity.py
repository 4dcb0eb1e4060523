"""PayPal's activity download ("all transactions" CSV) read into ledger facts: donation and
subscription payments, refunds and reversals count; conversions, holds, transfers and memos
are skipped; a row we cannot read is refused with its line number."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from fundraiser.csv_files import records_with_columns
from fundraiser.extensions import db
from fundraiser.models import EntryKind, Frequency, LedgerEntry, Pledge, ledger_key
from fundraiser.payments import channel_books
from fundraiser.payments.channel_books import ChannelFact, minor_units
from fundraiser.paypal.services import PAYPAL, MalformedFields, campaign_for

#: Type column → ledger kind. Anything not listed moves no donated money and is skipped.
KIND_BY_TYPE = {
    "donation payment": EntryKind.PAYMENT,
    "website payment": EntryKind.PAYMENT,
    "express checkout payment": EntryKind.PAYMENT,
    "general payment": EntryKind.PAYMENT,
    "mobile payment": EntryKind.PAYMENT,
    "subscription payment": EntryKind.PAYMENT,
    "recurring payment": EntryKind.PAYMENT,
    "payment refund": EntryKind.REFUND,
    "refund": EntryKind.REFUND,
    "payment reversal": EntryKind.DISPUTE_OPENED,
    "chargeback": EntryKind.DISPUTE_OPENED,
    "reversal": EntryKind.DISPUTE_OPENED,
    "cancellation of reversal": EntryKind.DISPUTE_WON,
    "chargeback reversal": EntryKind.DISPUTE_WON,
}
RECURRING_TYPES = {"subscription payment", "recurring payment"}
REQUIRED = ("Date", "Type", "Status", "Currency", "Gross", "Transaction ID")
_ZONES = {"PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "GMT": "UTC",
          "BST": "Europe/London", "CET": "Europe/Berlin", "CEST": "Europe/Berlin",
          "EST": "America/New_York", "EDT": "America/New_York", "UTC": "UTC"}  # fmt: skip
_COMMA_DECIMALS = re.compile(r",\d{1,2}$")
_DOT_DECIMALS = re.compile(r"\.\d{1,2}$")
_CURRENCY = re.compile(r"[A-Z]{3}")


class ActivityFileError(ValueError):
    """The file is not a PayPal activity CSV at all (no header we know)."""


@dataclass
class ActivityRow:
    line: int
    fact: ChannelFact


@dataclass
class ActivityReport:
    rows: list[ActivityRow] = field(default_factory=list)
    #: Skipped rows per Type (conversions, holds, transfers, memos, pending…).
    skipped: Counter = field(default_factory=Counter)
    #: (line number, why) of every row we could not read.
    refused: list[tuple[int, str]] = field(default_factory=list)


def read(data: bytes, day_first: bool = True) -> ActivityReport:
    """Read the whole file (UTF-8, with or without a BOM) into facts, skips and refusals."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    records = records_with_columns(
        text, REQUIRED, "Not a PayPal activity CSV", ActivityFileError, skipinitialspace=True
    )
    comma_style = _comma_decimals(record.get("Gross") or "" for record in records)
    report = ActivityReport()
    for number, record in enumerate(records, start=2):  # line 1 is the header
        kind_name = (record.get("Type") or "").strip()
        kind = KIND_BY_TYPE.get(kind_name.lower())
        if kind is None or (record.get("Status") or "").strip().lower() != "completed":
            report.skipped[kind_name or "(no type)"] += 1
            continue
        try:
            fact = _fact(record, kind, comma_style, day_first)
        except (MalformedFields, ValueError) as error:
            report.refused.append((number, str(error)))
            continue
        report.rows.append(ActivityRow(number, fact))
    return report


def _comma_decimals(values) -> bool:
    """Whether the file writes 1.234,56 (else 1,234.56): decided once for the whole file."""
    comma = dot = 0
    for value in values:
        value = value.strip()
        comma += bool(_COMMA_DECIMALS.search(value))
        dot += bool(_DOT_DECIMALS.search(value))
    return comma > dot


def number(text: str, comma_style: bool) -> str:
    """ "1.234,56" or "1,234.56" (as the file writes them) as "1234.56"."""
    text = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    if comma_style:
        return text.replace(".", "").replace(",", ".")
    return text.replace(",", "")


def _fact(record: dict, kind: EntryKind, comma_style: bool, day_first: bool) -> ChannelFact:
    txn_id = (record.get("Transaction ID") or "").strip()
    if not txn_id or len(txn_id) > 64:
        raise ValueError("no Transaction ID")
    currency = (record.get("Currency") or "").strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency {currency!r}")
    gross = minor_units(number(record["Gross"], comma_style), currency)
    fee_text = number(record.get("Fee") or "", comma_style)
    fee = abs(minor_units(fee_text, currency)) if fee_text else None
    if gross == 0:
        raise ValueError("a zero Gross")
    positive = kind in (EntryKind.PAYMENT, EntryKind.DISPUTE_WON)
    if (gross > 0) != positive:
        raise ValueError(f"Gross {record['Gross']} has the wrong sign for {record['Type']}")
    reference = (record.get("Reference Txn ID") or "").strip()
    type_name = record["Type"].strip().lower()
    pledge = None
    if type_name in RECURRING_TYPES and reference:
        pledge = db.session.scalar(
            select(Pledge).where(Pledge.stripe_subscription_id == ledger_key(PAYPAL, reference))
        )
    frequency = Frequency.ONE_TIME.value
    if type_name in RECURRING_TYPES:
        yearly = pledge is not None and pledge.interval == "year"
        frequency = Frequency.YEARLY.value if yearly else Frequency.MONTHLY.value
    campaign_id = (
        pledge.campaign_id
        if pledge
        else campaign_for(record.get("Custom Number"), record.get("Item ID")).id
    )
    parent = reference if kind is not EntryKind.PAYMENT and reference else txn_id
    payment = channel_books.booked(PAYPAL, parent) if parent != txn_id else None
    if payment is not None:  # a refund or reversal counts where its payment was booked
        campaign_id, frequency = payment.campaign_id, payment.frequency
        pledge = db.session.get(Pledge, payment.pledge_id) if payment.pledge_id else None
    return ChannelFact(
        channel=PAYPAL,
        external_id=txn_id,
        kind=kind,
        campaign_id=campaign_id,
        amount_minor=gross,
        currency=currency,
        occurred_at=_moment(record, day_first),
        fee_minor=fee if kind is EntryKind.PAYMENT else None,
        frequency=frequency,
        email=record.get("From Email Address"),
        name=(record.get("Name") or "").strip(),
        pledge_id=pledge.id if pledge else None,
        payment_external_id=parent,
    )


def _moment(record: dict, day_first: bool) -> datetime:
    date = (record.get("Date") or "").strip()
    time = (record.get("Time") or "00:00:00").strip() or "00:00:00"
    parts = re.split(r"[/.\-]", date)
    if len(parts) != 3:
        raise ValueError(f"date {date!r}")
    if len(parts[0]) == 4:
        year, month, day = parts
    elif day_first:
        day, month, year = parts
    else:
        month, day, year = parts
    try:
        local = datetime.strptime(f"{year}-{month}-{day} {time}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"date {date!r} {time!r}") from None
    zone_name = (record.get("TimeZone") or record.get("Time Zone") or "UTC").strip()
    try:
        zone = ZoneInfo(_ZONES.get(zone_name.upper(), zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    return local.replace(tzinfo=zone).astimezone(UTC)


def known_ids(report: ActivityReport) -> set[str]:
    """The transaction ids of the report's rows that the ledger holds already."""
    keys = [ledger_key(PAYPAL, row.fact.external_id) for row in report.rows]
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            db.session.scalars(
                select(LedgerEntry.external_id).where(LedgerEntry.stripe_ref.in_(chunk))
            )
        )
    return found
