"""PayPal activity downloads ("all transactions" CSV) as PayPal writes them, for the tests."""

from __future__ import annotations

import csv
import io

HEADER = [
    "Date", "Time", "TimeZone", "Name", "Type", "Status", "Currency", "Gross", "Fee", "Net",
    "From Email Address", "To Email Address", "Transaction ID", "Shipping Address",
    "Address Status", "Item Title", "Item ID", "Shipping and Handling Amount",
    "Insurance Amount", "Sales Tax", "Option 1 Name", "Option 1 Value", "Option 2 Name",
    "Option 2 Value", "Reference Txn ID", "Invoice Number", "Custom Number", "Quantity",
    "Receipt ID", "Balance", "Address Line 1", "Address Line 2/District/Neighborhood",
    "Town/City", "State/Province/Region/County/Territory/Prefecture/Republic",
    "Zip/Postal Code", "Country", "Contact Phone Number", "Subject", "Note", "Country Code",
    "Balance Impact",
]  # fmt: skip


def row(txn_id: str, type_: str, gross: str, fee: str = "0.00", **more) -> dict:
    return {
        "Date": "29/11/2026",
        "Time": "10:15:00",
        "TimeZone": "GMT",
        "Name": "Ann Reader",
        "Type": type_,
        "Status": "Completed",
        "Currency": "EUR",
        "Gross": gross,
        "Fee": fee,
        "Net": gross,
        "From Email Address": "ann@example.org",
        "To Email Address": "donations@paypal-simulator.test",
        "Transaction ID": txn_id,
        "Balance Impact": "Credit" if not gross.startswith("-") else "Debit",
        **more,
    }


def activity_csv(rows: list[dict], comma_style: bool = False) -> bytes:
    """The file, with PayPal's BOM; in 1.234,56 style the amounts are rewritten that way."""
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writeheader()
    for item in rows:
        if comma_style:
            item = {
                key: _comma(value) if key in {"Gross", "Fee", "Net", "Balance"} else value
                for key, value in item.items()
            }
        writer.writerow(item)
    return "\ufeff".encode() + out.getvalue().encode()


def _comma(value: str) -> str:
    return value.replace(",", "\0").replace(".", ",").replace("\0", ".")
