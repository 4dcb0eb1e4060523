"""Announcing committed payment changes: staged during a transaction, sent only after COMMIT.

Books functions stage their Effects on the session; a commit moves them to the request (or
leaves them for `announce_committed()` outside requests), a rollback drops them. So a mail
or cache receiver can never run for a change that did not happen.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from fundraiser.extensions import db
from fundraiser.payments.books import Effects

log = logging.getLogger(__name__)
_PENDING = "fundraiser_pending_effects"
_COMMITTED = "fundraiser_committed_effects"


def stage(effects: Effects) -> None:
    db.session.info.setdefault(_PENDING, []).append(effects)


@event.listens_for(Session, "after_commit")
def _move_to_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _session_exists() -> bool:
    """Whether this context already has a session (a request that never used one needs none)."""
    return db.session.registry.has()


def announce_committed() -> None:
    """Send the signals for everything committed so far in this session."""
    if not has_app_context() or not _session_exists():
        return
    committed = db.session.info.pop(_COMMITTED, None)
    for effects in committed or []:
        _announce(effects, current_app._get_current_object())


def _announce(effects: Effects, app: Flask) -> None:
    from fundraiser.campaigns.services import ledger_changed
    from fundraiser.payments import signals

    for campaign_id in effects.campaigns:
        ledger_changed(campaign_id)
    sends: list[tuple] = []
    sends += [(signals.payment_recorded, {"entry_id": i}) for i in effects.payments]
    sends += [(signals.refund_recorded, {"entry_id": i}) for i in effects.refunds]
    sends += [
        (signals.pledge_changed, {"pledge_id": p, "changes": c, "actor": a})
        for p, c, a in effects.pledge_changes
    ]
    sends += [
        (signals.pledge_payment_failed, {"pledge_id": p, "invoice_url": u})
        for p, u in effects.failed_payments
    ]
    sends += [
        (signals.pledge_cancelled, {"pledge_id": p, "reason": r}) for p, r in effects.cancellations
    ]
    sends += [
        (signals.payment_declined, {"payment_intent_id": i, "donation_intent": d})
        for i, d in effects.declines
    ]
    sends += [(signals.payment_fee_unknown, {"entry_id": i}) for i in effects.unknown_fees]
    for signal, kwargs in sends:
        try:
            signal.send(app, **kwargs)
        except Exception:  # noqa: BLE001 - a mail hiccup must never fail a committed payment
            log.exception("signal receiver failed for %s", signal.name)


def register(app: Flask) -> None:
    @app.after_request
    def announce_after_request(response):
        announce_committed()
        return response

    @app.teardown_appcontext
    def forget_uncommitted(_exc):
        if "sqlalchemy" in app.extensions and _session_exists():
            db.session.info.pop(_PENDING, None)
            db.session.info.pop(_COMMITTED, None)
