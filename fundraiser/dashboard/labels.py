"""Words people read for the raw values the books store ("one-time" is "One-off")."""

from __future__ import annotations

FREQUENCY_LABELS = {"one-time": "One-off", "monthly": "Monthly", "yearly": "Yearly"}
STATUS_LABELS = {
    "paid": "Paid",
    "partially_refunded": "Partly refunded",
    "refunded": "Refunded",
    "disputed": "Disputed",
}


def frequency_label(value: str | None) -> str:
    return FREQUENCY_LABELS.get(value or "", (value or "").replace("-", " ").capitalize())


def status_label(value: str | None) -> str:
    return STATUS_LABELS.get(value or "", (value or "").replace("_", " ").capitalize())


def kind_label(value: str | None) -> str:
    return (value or "").replace("_", " ").capitalize()
