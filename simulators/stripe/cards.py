"""Stripe's test card numbers and the checks a hosted payment form runs on card input."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# number → (decline_code, message) for cards that are declined when charged.
DECLINES = {
    "4000000000000002": ("generic_decline", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": ("lost_card", "Your card was declined."),
    "4000000000009979": ("stolen_card", "Your card was declined."),
    "4000000000000069": ("expired_card", "Your card has expired."),
    "4000000000000127": ("incorrect_cvc", "Your card's security code is incorrect."),
}
# Attaching works but every later charge fails: drives failed renewals after a portal update.
FAILS_LATER = {"4000000000000341": ("generic_decline", "Your card was declined.")}
SUCCEEDS = {
    "4242424242424242",
    "4000056655665556",
    "5555555555554444",
    "2223003122003222",
    "5200828282828210",
    "378282246310005",
    "371449635398431",
    "6011111111111117",
    "3056930009020004",
    "3566002020360505",
    # 3-D Secure cards: the simulator treats authentication as passed.
    "4000000000003220",
    "4000002500003155",
    "4000002760003184",
    "4000000000003063",
}


class CardInputError(ValueError):
    """The form input is unusable (the card is never sent to the 'bank')."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Card:
    number: str
    exp_month: int
    exp_year: int

    @property
    def brand(self) -> str:
        if self.number.startswith(("34", "37")):
            return "amex"
        if self.number.startswith(("5", "2")):
            return "mastercard"
        if self.number.startswith("6"):
            return "discover"
        if self.number.startswith("35"):
            return "jcb"
        return "visa" if self.number.startswith("4") else "diners"

    def details(self) -> dict[str, object]:
        """The card attributes a payment method shows."""
        return {
            "brand": self.brand,
            "last4": self.number[-4:],
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "fingerprint": hashlib.sha256(self.number.encode()).hexdigest()[:16],
            "funding": "debit" if self.number == "4000056655665556" else "credit",
            "country": "US",
        }

    def decline_on_checkout(self) -> tuple[str, str] | None:
        if self.number in DECLINES:
            return DECLINES[self.number]
        if self.number in SUCCEEDS or self.number in FAILS_LATER:
            return None
        # Stripe refuses real card numbers in test mode; so does the simulator.
        return (
            "test_mode_live_card",
            "Your card was declined. Your request was in test mode, but used a non test "
            "(live) card.",
        )

    def decline_off_session(self) -> tuple[str, str] | None:
        return FAILS_LATER.get(self.number) or self.decline_on_checkout()


def luhn_ok(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def parse_expiry(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", text or "")
    if not match:
        raise CardInputError("Your card's expiration date is incomplete.", "exp")
    month, year = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise CardInputError("Your card's expiration month is invalid.", "exp")
    return month, year + 2000 if year < 100 else year


def check_card(number: str, expiry: str, cvc: str, now: int) -> Card:
    """Validate form input the way Stripe's card element does; raise CardInputError."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        raise CardInputError("Your card number is incomplete.", "number")
    if not digits.isdigit() or not 13 <= len(digits) <= 19 or not luhn_ok(digits):
        raise CardInputError("Your card number is invalid.", "number")
    month, year = parse_expiry(expiry)
    today = datetime.fromtimestamp(now, UTC)
    if (year, month) < (today.year, today.month):
        raise CardInputError("Your card's expiration date is in the past.", "exp")
    if not re.fullmatch(r"\d{3,4}", (cvc or "").strip()):
        raise CardInputError("Your card's security code is incomplete.", "cvc")
    return Card(digits, month, year)
