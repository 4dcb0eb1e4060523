"""A renewal's light paths write what the general ones write: the pledge's new period (its
columns, revision and audit entry) and the payment of an intent that is paid already."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fundraiser.extensions import db
from fundraiser.models import (
    AuditEntry,
    DonationIntent,
    IntentStatusChange,
    LedgerEntry,
    Pledge,
    PledgeStatusChange,
)
from fundraiser.payments import events, gateway, pledge_mirror
from fundraiser.payments.ledger import Transaction
from tests.helpers import sim_control, stripe_client
from tests.payments.conftest import start_pledge


@contextlib.contextmanager
def entities_loaded():
    """The types of the entities the ORM loads inside the block."""
    loaded: set[type] = set()

    def note(_session, instance) -> None:
        loaded.add(type(instance))

    event.listen(Session, "loaded_as_persistent", note)
    try:
        yield loaded
    finally:
        event.remove(Session, "loaded_as_persistent", note)


def _pledge_state(subscription_id: str) -> dict:
    """The pledge's columns (timestamps of the write apart), its history and audit rows."""
    pledge = db.session.execute(
        select(Pledge.__table__).where(Pledge.stripe_subscription_id == subscription_id)
    ).one()
    columns = {k: v for k, v in pledge._mapping.items() if k != "updated_at"}
    history = db.session.execute(
        select(PledgeStatusChange.from_status, PledgeStatusChange.to_status)
        .where(PledgeStatusChange.pledge_id == pledge.id)
        .order_by(PledgeStatusChange.id)
    ).all()
    audits = db.session.execute(
        select(AuditEntry.actor, AuditEntry.action, AuditEntry.target, AuditEntry.detail)
        .where(AuditEntry.target == subscription_id)
        .order_by(AuditEntry.id)
    ).all()
    return {"pledge": columns, "history": history, "audit": audits}


def _apply(subscription_id: str, way) -> tuple[dict, list, bool]:
    """Apply Stripe's subscription one way, uncommitted: the state it leaves, what it
    announced and whether it loaded the Pledge; then roll it back."""
    subscription = gateway.retrieve_subscription(subscription_id)
    db.session.rollback()
    tx = Transaction("stripe:evt_test")
    with entities_loaded() as loaded:
        way(subscription, tx)
    state = _pledge_state(subscription_id)
    db.session.rollback()
    return state, tx.effects, Pledge in loaded


@pytest.mark.parametrize("change", ["renewal", "cancellation", "pause", "nothing"])
def test_a_subscription_event_writes_what_sync_pledge_writes(
    app, client, campaign, stripe_sim, change
):
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    stripe_sim.flush()
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})
    if change == "renewal":
        sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    elif change == "cancellation":
        stripe_client(stripe_sim).v1.subscriptions.cancel(subscription_id)
    elif change == "pause":
        stripe_client(stripe_sim).v1.subscriptions.update(
            subscription_id, {"pause_collection": {"behavior": "void"}}
        )
    with app.app_context():
        before = _pledge_state(subscription_id)
        db.session.rollback()
        quick = _apply(subscription_id, pledge_mirror.mirror_subscription)
        general = _apply(subscription_id, pledge_mirror.sync_pledge)
    state, effects, loaded = quick
    assert state == general[0] and effects == general[1]
    # Only a change nobody would notice skips the entity; the others go the general way.
    assert loaded is (change in ("cancellation", "pause"))
    if change == "nothing":
        assert state == before
    else:
        assert state["pledge"]["revision"] == before["pledge"]["revision"] + 1
        assert len(state["audit"]) == len(before["audit"]) + 1
    if change == "renewal":
        assert state["pledge"]["next_payment_at"] > before["pledge"]["next_payment_at"]
        assert state["history"] == before["history"] and effects == []
    if change == "cancellation":
        assert state["history"][-1] == ("active", "cancelled")
        assert [effect.kind for effect in effects] == ["pledge_cancelled"]
    if change == "pause":
        assert [effect.kind for effect in effects] == ["pledge_changed"]


@pytest.mark.parametrize("intent_status", ["paid", "completed"])
def test_a_renewal_books_its_intent_as_the_entity_would(
    app, client, campaign, stripe_sim, intent_status
):
    subscription_id = start_pledge(app, client, campaign, stripe_sim)
    stripe_sim.flush()
    stripe_sim.sim.faults.update({"drop_webhooks": 100_000})
    sim_control(stripe_sim, f"subscriptions/{subscription_id}/advance", outcome="paid")
    invoice = stripe_sim.sim.events("invoice.paid")[-1]["data"]["object"]
    with app.app_context():
        intent = db.session.scalar(select(DonationIntent))
        intent.status = intent_status  # say, its checkout's payment not booked by us yet
        db.session.commit()
        moves = db.session.scalars(select(IntentStatusChange.to_status)).all()
        intent_id = intent.id
        db.session.expunge_all()  # what the handler loads, it loads anew
        tx = Transaction("stripe:evt_test")
        paid = gateway.retrieve_paid_invoice(invoice["id"])
        with entities_loaded() as loaded:
            events.record_invoice_payment(paid, tx)
        db.session.commit()
        entry = db.session.scalar(
            select(LedgerEntry).where(LedgerEntry.invoice_id == invoice["id"])
        )
        assert entry.intent_id == intent_id and entry.donor_email == "patron@example.org"
        assert db.session.scalar(select(DonationIntent.status)) == "paid"
        now_moves = db.session.scalars(select(IntentStatusChange.to_status)).all()
    # A paid intent is left as it is, unloaded; one still to be paid is moved, with its history.
    assert (DonationIntent in loaded) is (intent_status == "completed")
    assert now_moves == moves + (["paid"] if intent_status == "completed" else [])
