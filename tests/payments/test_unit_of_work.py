"""`ledger.change`: the one unit of work for money; effects only after its commit."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from fundraiser.extensions import db
from fundraiser.models import AnnouncedChange, LedgerEntry
from fundraiser.payments import after_commit, ledger
from tests.accounts.conftest import add_pledge
from tests.factories import add_payment


@pytest.fixture
def outbox(app) -> Path:
    folder = Path(app.config["MAIL_OUTBOX"])
    for path in folder.glob("*.eml"):
        path.unlink()
    return folder


def _mails(outbox: Path) -> int:
    return len(list(outbox.glob("*.eml")))


def test_every_effect_kind_has_receivers_that_exist():
    for kind, receivers in after_commit.AFTER_COMMIT.items():
        assert receivers, kind
        for receiver in receivers:
            assert receiver.mode in {after_commit.INLINE, after_commit.QUEUED}
            assert callable(after_commit.resolve(receiver.path)), receiver.path


def test_a_failed_change_books_nothing_and_announces_nothing(ctx, campaign, outbox):
    entry = add_payment(campaign, 1000, email="kept@example.org")

    def announce_then_fail(tx):
        tx.announce("payment_recorded", entry_id=entry.id)
        db.session.delete(db.session.get(LedgerEntry, entry.id))
        raise RuntimeError("the handler broke")

    with pytest.raises(RuntimeError):
        ledger.change("test:failing", announce_then_fail)
    assert _mails(outbox) == 0
    assert db.session.get(LedgerEntry, entry.id) is not None


def test_a_change_inside_a_change_is_refused(ctx, campaign):
    with pytest.raises(ledger.NestedChange):
        ledger.change("test:outer", lambda tx: ledger.change("test:inner", lambda inner: None))


def test_the_same_keyed_change_is_announced_once(ctx, campaign, outbox):
    pledge = add_pledge(campaign, "twice@example.org")
    for _ in range(2):  # say the account request, then Stripe's webhook
        ledger.change(
            "test:twice",
            lambda tx: tx.announce("pledge_changed", "pledge:7:r3", pledge_id=pledge.id),
        )
    assert _mails(outbox) == 1
    assert db.session.scalar(select(func.count()).select_from(AnnouncedChange)) == 1


def test_an_effect_without_receivers_is_a_programming_error(ctx):
    with pytest.raises(KeyError):
        ledger.change("test:unknown", lambda tx: tx.announce("no_such_effect"))
