"""Reference exchange rates (the European Central Bank's euro foreign exchange rates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from fundraiser.models.base import Base


class ExchangeRate(Base):
    """How many units of `currency` one euro bought on `day` (EUR itself is implied: 1)."""

    __tablename__ = "exchange_rates"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: ISO 4217, upper case.
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    #: Units of the currency per euro, as the ECB publishes it (up to 4 significant decimals).
    per_euro: Mapped[Decimal] = mapped_column(Numeric(18, 6))
