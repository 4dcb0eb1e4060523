"""What may be done to a pledge: intervals, pause lengths, and the actions each status allows.
One table for the supporter's account, the staff dashboard and the payments service."""

from __future__ import annotations

from fundraiser.models import PledgeStatus

#: Stripe's recurring intervals we offer, with the words people read.
INTERVALS: dict[str, str] = {"month": "Monthly", "year": "Yearly"}
#: A pause lasts whole calendar months, one to three.
PAUSE_MONTHS: tuple[int, ...] = (1, 2, 3)

#: Which actions each status offers; pages show only these and the services refuse others.
ACTIONS: dict[PledgeStatus, frozenset[str]] = {
    PledgeStatus.ACTIVE: frozenset({"amount", "interval", "pause", "cancel", "card"}),
    PledgeStatus.PAST_DUE: frozenset({"amount", "interval", "cancel", "card"}),
    PledgeStatus.PAUSED: frozenset({"resume", "cancel", "card"}),
    PledgeStatus.INCOMPLETE: frozenset({"cancel"}),
    PledgeStatus.CANCELLED: frozenset(),
}

#: Statuses a supporter or staff member may cancel.
CANCELLABLE: frozenset[str] = frozenset(s.value for s, acts in ACTIONS.items() if "cancel" in acts)


def allows(status: str, action: str) -> bool:
    return action in ACTIONS.get(PledgeStatus(status), frozenset())
