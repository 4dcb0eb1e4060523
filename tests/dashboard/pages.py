"""Reading figures back out of dashboard pages and CSV exports, for comparison with the ledger."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import Decimal

from fundraiser.money import decimals


def figure_text(page: str, name: str) -> str:
    """The text of the element marked data-figure="name"."""
    match = re.search(rf'data-figure="{re.escape(name)}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no figure {name!r} on the page"
    return html.unescape(match.group(1)).strip()


def money_minor(text: str, currency: str) -> int:
    """ "€1,234.50" or "-£5.00" as minor units."""
    negative = text.strip().startswith(("-", "−"))
    number = re.sub(r"[^0-9.]", "", text)
    minor = int(Decimal(number).scaleb(decimals(currency)))
    return -minor if negative else minor


def figure_minor(page: str, name: str, currency: str) -> int:
    return money_minor(figure_text(page, name), currency)


def csv_rows(body: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body)))
