"""Mail to staff: the optional weekly summary (`flask dashboard weekly-summary`, run by a
timer) and an alert when a gift above LARGE_GIFT_ALERT is booked.

Both go to STAFF_REPORT_EMAILS; with no recipients (or no threshold) nothing is sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale

from fundraiser.dashboard.channels import channel_of
from fundraiser.dashboard.overview import (
    ChosenPeriod,
    Overview,
    Window,
    build_overview,
    days_window,
)
from fundraiser.dashboard.periods import local_today, reporting_zone
from fundraiser.extensions import db
from fundraiser.i18n import DEFAULT_LANGUAGE
from fundraiser.mail import external_url, send_mail
from fundraiser.models import EntryKind, LedgerEntry
from fundraiser.money import AmountError, parse_amount

log = logging.getLogger(__name__)


def staff_recipients() -> list[str]:
    """STAFF_REPORT_EMAILS: comma-separated addresses."""
    raw = current_app.config.get("STAFF_REPORT_EMAILS") or ""
    return [address.strip() for address in raw.split(",") if address.strip()]


def alert_threshold(currency: str) -> int | None:
    """LARGE_GIFT_ALERT for `currency`, in minor units: "500" (500 in any currency's major
    units) or "EUR:500,GBP:400" (only those currencies). None: no alert for this currency."""
    raw = (current_app.config.get("LARGE_GIFT_ALERT") or "").strip()
    if not raw:
        return None
    for part in raw.split(","):
        code, _, amount = part.strip().rpartition(":")
        if code and code.strip().upper() != currency.upper():
            continue
        try:
            return parse_amount(amount, currency)
        except AmountError:
            log.warning("LARGE_GIFT_ALERT %r is not an amount in %s; no alert", part, currency)
            return None
    return None


def alert_if_large_gift(entry_id: int, **_) -> None:
    """After-commit receiver of `payment_recorded` (payments/after_commit.py): mail staff about
    a gift above LARGE_GIFT_ALERT. Without recipients or a threshold it reads nothing."""
    if not (staff_recipients() and (current_app.config.get("LARGE_GIFT_ALERT") or "").strip()):
        return
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.kind != EntryKind.PAYMENT.value:
        return
    threshold = alert_threshold(entry.currency)
    if threshold is None or entry.amount_minor <= threshold:
        return
    donation_url = external_url("dashboard.donation", payment_ref=entry.payment_ref)
    # Staff read English, even when a reader's German thank-you page booked the gift.
    with force_locale(DEFAULT_LANGUAGE):
        for recipient in staff_recipients():
            send_mail(
                recipient,
                f"Large gift: {entry.campaign.title}",
                "staff_large_gift",
                entry=entry,
                channel=channel_of(entry),
                threshold=threshold,
                donation_url=donation_url,
            )


def last_week() -> ChosenPeriod:
    """The seven whole local days before today, against the seven before them."""
    zone = reporting_zone()
    last = local_today(zone) - timedelta(days=1)
    current = days_window(last - timedelta(days=6), last, zone)
    previous = days_window(last - timedelta(days=13), last - timedelta(days=7), zone)
    return ChosenPeriod("range", "Last 7 days", current, previous)


def weekly_summary() -> tuple[Overview, int]:
    """Send last week's figures to every staff recipient; (the overview, mails sent)."""
    overview = build_overview(last_week())
    recipients = staff_recipients()
    overview_url = external_url("dashboard.index")
    for recipient in recipients:
        send_mail(
            recipient,
            f"Last week: {_dates(overview.period.current)}",
            "staff_weekly_summary",
            overview=overview,
            dates=_dates(overview.period.current),
            overview_url=overview_url,
        )
    return overview, len(recipients)


def _dates(window: Window) -> str:
    return f"{window.first.strftime('%-d %b')} – {window.last.strftime('%-d %b %Y')}"
