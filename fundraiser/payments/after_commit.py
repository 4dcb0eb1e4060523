"""What follows a committed change: the table from effect kind to its receivers.

"Who sends the receipt?" is answered here. A receiver is a function named by its import
path (so this table imports nothing and a queued job carries only strings and ids), called
with the effect's arguments. INLINE receivers run at once after the commit. QUEUED ones run
in an RQ job when Redis is configured (inside a job already, or when Redis can't be reached,
at once). A receiver's failure is logged, never raised: the change is committed already.
"""

from __future__ import annotations

import functools
import importlib
import logging
from dataclasses import dataclass

from flask import current_app

log = logging.getLogger(__name__)

INLINE = "inline"
QUEUED = "queued"


@dataclass(frozen=True)
class Receiver:
    #: "package.module:function"
    path: str
    mode: str


def _inline(path: str) -> Receiver:
    return Receiver(path, INLINE)


def _queued(path: str) -> Receiver:
    return Receiver(path, QUEUED)


_MAIL = "fundraiser.accounts.notifications"

AFTER_COMMIT: dict[str, tuple[Receiver, ...]] = {
    # campaign_id: cached totals and page snapshots are old now.
    "ledger_changed": (_inline("fundraiser.campaigns.services:ledger_changed"),),
    # entry_id: a new payment row. The receipt is also a new monthly supporter's welcome; the
    # alert reads nothing unless LARGE_GIFT_ALERT is set, and its mail is queued by send_mail.
    "payment_recorded": (
        _queued(f"{_MAIL}:send_receipt"),
        _inline("fundraiser.dashboard.staff_mail:alert_if_large_gift"),
    ),
    # entry_id: a payment booked before Stripe's fee was known.
    "fee_unknown": (_queued("fundraiser.payments.fees:fill_fee_later"),),
    # entry_id: a new refund row.
    "refund_recorded": (_queued(f"{_MAIL}:send_refund_notice"),),
    # pledge_id: the supporter changed amount, interval or pause (key: pledge id + revision).
    "pledge_changed": (_queued(f"{_MAIL}:send_pledge_changed"),),
    # pledge_id, invoice_url: a renewal could not be taken.
    "pledge_payment_failed": (_queued(f"{_MAIL}:send_payment_failed"),),
    # pledge_id, reason
    "pledge_cancelled": (_queued(f"{_MAIL}:send_pledge_cancelled"),),
    # payment_intent_id, donation_intent (our intent's public id from the payment intent's
    # metadata, or None): a declined card, counted by the card-testing defence against the
    # source that opened the checkout.
    "payment_declined": (_inline("fundraiser.donations.abuse:note_decline"),),
}


#: The receivers a worker may run by name (payments.after_commit.receiver_job): the queued
#: ones of the table, nothing else, so a job planted in Redis can't name any other function.
QUEUED_RECEIVERS = frozenset(
    receiver.path
    for receivers in AFTER_COMMIT.values()
    for receiver in receivers
    if receiver.mode == QUEUED
)


@functools.cache
def resolve(path: str):
    module_name, name = path.split(":")
    return getattr(importlib.import_module(module_name), name)


def run(effects: list[tuple[str, dict]]) -> None:
    """Hand each committed effect to its receivers, in the table's order."""
    from fundraiser import jobs

    queue = bool(current_app.config.get("REDIS_URL")) and not jobs.in_a_job()
    for kind, args in effects:
        for receiver in AFTER_COMMIT[kind]:
            queued = receiver.mode == QUEUED and queue
            if not (queued and jobs.enqueue_call(receiver_job, receiver.path, args)):
                _run_here(receiver.path, args)


def _run_here(path: str, args: dict) -> None:
    from fundraiser.extensions import db

    try:
        resolve(path)(**args)
    except Exception:  # noqa: BLE001 - a mail hiccup must never fail a committed payment
        log.exception("after-commit receiver %s failed for %r", path, args)
        db.session.rollback()


def receiver_job(path: str, args: dict) -> None:
    """The RQ job of a queued receiver; an exception makes RQ try it again later."""
    from fundraiser import jobs

    if path not in QUEUED_RECEIVERS:
        raise jobs.UnknownJob(f"refusing receiver {path!r}: not a queued after-commit receiver")
    with jobs.job_app().app_context():
        resolve(path)(**args)
