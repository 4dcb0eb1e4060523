"""Which channel a gift came through, for every staff page, export and mail that shows it.

Today every ledger row is a Stripe payment. PayPal, Patreon and offline gifts arrive later as
adapters writing a `channel` column; then this module is the one place that changes.
"""

from __future__ import annotations

from sqlalchemy import literal

STRIPE = "Stripe"


def channel_of(entry) -> str:
    """The channel of a ledger row (or a row read from the donations query)."""
    return STRIPE


def channel_column():
    """The same as a SQL expression, for queries that group or export by channel."""
    return literal(STRIPE)


def channel_names() -> list[str]:
    """Every channel the books can hold today, in display order."""
    return [STRIPE]
