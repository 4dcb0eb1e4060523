"""Patreon's members export (CSV) read into members, for `flask ledger import patreon FILE`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fundraiser.csv_files import records_with_columns
from fundraiser.patreon.services import BadMember, Member, _when

REQUIRED = ("Email", "Patron Status", "Pledge Amount", "Last Charge Date", "Last Charge Status",
            "User ID")  # fmt: skip
STATUS = {"active patron": "active_patron", "declined patron": "declined_patron",
          "former patron": "former_patron"}  # fmt: skip


class ExportFileError(ValueError):
    """Not a Patreon members export."""


def read(data: bytes) -> tuple[list[tuple[int, Member]], list[tuple[int, str]]]:
    """(line, member) for each readable row, and (line, why) for each refused one."""
    text = data.decode("utf-8-sig", errors="replace")
    records = records_with_columns(text, REQUIRED, "Not a Patreon members export", ExportFileError)
    members, refused = [], []
    for line, record in enumerate(records, start=2):
        try:
            members.append((line, _member(record)))
        except (BadMember, ValueError, InvalidOperation) as error:
            refused.append((line, str(error)))
    return members, refused


def _member(record: dict) -> Member:
    user_id = (record.get("User ID") or "").strip()
    if not user_id:
        raise BadMember("no User ID")
    cents = _cents(record, "Pledge Amount") or Decimal(0)
    lifetime = _cents(record, "Lifetime Amount")
    if lifetime is not None and (lifetime != lifetime.to_integral_value() or lifetime < 0):
        raise BadMember(f"Lifetime Amount {record.get('Lifetime Amount')!r}")
    if cents != cents.to_integral_value() or cents < 0:
        raise BadMember(f"Pledge Amount {record.get('Pledge Amount')!r}")
    frequency = (record.get("Charge Frequency") or "monthly").strip().lower()
    charge_date = (record.get("Last Charge Date") or "").strip().replace(" ", "T")
    return Member(
        id=user_id[:100],
        email=(record.get("Email") or "").strip().lower() or None,
        full_name=(record.get("Name") or "").strip()[:200],
        amount_cents=int(cents),
        patron_status=STATUS.get((record.get("Patron Status") or "").strip().lower()),
        cadence=12 if frequency in {"annual", "annually", "yearly"} else 1,
        last_charge_date=_when(charge_date) if charge_date else None,
        last_charge_status=(record.get("Last Charge Status") or "").strip() or None,
        lifetime_cents=int(lifetime) if lifetime is not None else None,
    )


def _cents(record: dict, column: str) -> Decimal | None:
    """The column's amount ("1,234.50") in cents; None when empty. Says which column and
    what it held when that is not an amount (Decimal's own error names neither)."""
    text = (record.get(column) or "").replace(",", "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadMember(f"{column} {text[:40]!r} is not an amount") from None
    if not amount.is_finite() or abs(amount) >= 10**8:  # webhooks' bound: 10**10 cents
        raise BadMember(f"{column} {text[:40]!r} is not an amount")
    return amount * 100
