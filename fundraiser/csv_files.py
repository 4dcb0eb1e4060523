"""Reading an uploaded CSV export (PayPal's activity download, Patreon's members export)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable


def records_with_columns(
    text: str, required: Iterable[str], not_this_file: str, error: type[Exception], **options
) -> list[dict[str, str]]:
    """Every row of `text` as a dict by its header's (trimmed) names. Raises `error` when a
    required column is missing (`not_this_file` + the names) or the csv module gives up."""
    reader = csv.DictReader(io.StringIO(text, newline=""), **options)
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [name for name in required if name not in header]
        if missing:
            raise error(f"{not_this_file}: no column {', '.join(missing)}.")
        return list(reader)
    except csv.Error as problem:  # a field beyond the csv module's limit, say
        raise error(f"Not a readable CSV: line {reader.line_num}: {problem}.") from None
