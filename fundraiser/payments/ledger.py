"""The unit of work for money and pledge state: `ledger.change(actor, work)`.

It is the one way to book a payment, a refund, a dispute step or a pledge's new state:
    outcome = ledger.change("stripe:evt_123", lambda tx: events.process_event(event, tx))
`work(tx)` writes rows through the books and announces what it changed on `tx`; `change`
commits (trying again from the start on a PostgreSQL deadlock or serialization failure),
and only then runs the effects through `after_commit.AFTER_COMMIT`. A rollback drops them.
Callers never commit money themselves, and nothing depends on being in a request or a job.

An effect with a key announces one state change (say `pledge:42:r7`): the key is claimed in
a table inside the same transaction, so two messages about one change (the account request
and Stripe's webhook) announce it once. Effects born of a unique insert (a payment's ledger
row) need no key: the insert itself happens once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from fundraiser.database import insert_if_absent, is_transient_conflict
from fundraiser.extensions import db
from fundraiser.models import AnnouncedChange, utcnow
from fundraiser.payments import after_commit

#: Attempts at a transaction that PostgreSQL aborted as a deadlock or serialization failure.
ATTEMPTS = 3
_ACTIVE = "fundraiser_ledger_change"
T = TypeVar("T")


@dataclass(frozen=True)
class Effect:
    """Something a committed change sets off: a kind (a row of AFTER_COMMIT) and its
    arguments, plain JSON values (ids and strings) so a queued receiver can take them."""

    kind: str
    args: tuple[tuple[str, Any], ...]
    #: The state change it announces, when two transactions could announce the same one.
    key: str | None = None


@dataclass
class Transaction:
    """One attempt at a change: who makes it, and what it has announced so far."""

    actor: str
    effects: list[Effect] = field(default_factory=list)
    #: Whether the books wrote anything (reconcile counts the objects it fixed).
    wrote: bool = False

    def announce(self, kind: str, key: str | None = None, **args: Any) -> None:
        if kind not in after_commit.AFTER_COMMIT:
            raise KeyError(f"no receivers listed for effect {kind!r}")
        effect = Effect(kind, tuple(sorted(args.items())), key)
        if effect not in self.effects:  # one cache invalidation per campaign, not per row
            self.effects.append(effect)


class NestedChange(RuntimeError):
    """A change started inside another: its commit would commit the outer one's half."""


def change(actor: str, work: Callable[[Transaction], T]) -> T:
    """Run `work(tx)` in one transaction, commit it, then run its effects; returns its result."""
    session_info = db.session.info
    if session_info.get(_ACTIVE):
        raise NestedChange(f"{actor} inside {session_info[_ACTIVE]}")
    for attempt in range(1, ATTEMPTS + 1):
        tx = Transaction(actor)
        session_info[_ACTIVE] = actor
        try:
            result = work(tx)
            effects = _claim(tx.effects)
            db.session.commit()
        except OperationalError as error:
            db.session.rollback()
            if attempt == ATTEMPTS or not is_transient_conflict(error):
                raise
            continue
        except BaseException:
            db.session.rollback()
            raise
        finally:
            session_info.pop(_ACTIVE, None)
        after_commit.run([(effect.kind, dict(effect.args)) for effect in effects])
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _claim(effects: list[Effect]) -> list[Effect]:
    """The effects this transaction is first to announce (keyed ones claimed in the table)."""
    now = utcnow()
    return [
        effect
        for effect in effects
        if effect.key is None
        or insert_if_absent(AnnouncedChange, {"key": effect.key, "announced_at": now}, ["key"])
    ]
