"""A gift's and a pledge's status as readers read it, in their language: one table each for
the account pages, the PDF statement, the pledge mails and the pledge actions' refusals."""

from __future__ import annotations

from flask_babel import gettext as _


def gift_status_word(status: str) -> str:
    """ "Paid", "Partially refunded" …: a gift's status as a label."""
    words = {
        "paid": _("Paid"),
        "partially_refunded": _("Partially refunded"),
        "refunded": _("Refunded"),
        "disputed": _("Disputed"),
    }
    return words.get(status, status.replace("_", " ").capitalize())


def pledge_status_word(status: str) -> str:
    """ "active", "past due" …: a pledge's status inside a sentence."""
    words = {
        "active": _("active"),
        "past_due": _("past due"),
        "paused": _("paused"),
        "cancelled": _("cancelled"),
        "incomplete": _("incomplete"),
    }
    return words.get(status, status.replace("_", " "))
