"""What may be done to a pledge: intervals, pause lengths, and the actions each status allows.
One table for the supporter's account, the staff dashboard and the payments service."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class KeptElsewhere:
    """A pledge another processor keeps: we only mirror it, so every change is made there."""

    name: str
    #: Where the supporter manages it (their own account pages at that processor).
    url: str

    @property
    def message(self) -> str:
        from flask_babel import gettext

        return gettext(
            "This gift is managed at %(name)s: change, pause or cancel it there.", name=self.name
        )


#: Channels whose pledges are mirrors: no action of ours applies to them (the table above is
#: Stripe's), the account pages point to the processor instead.
KEPT_ELSEWHERE: dict[str, KeptElsewhere] = {
    "paypal": KeptElsewhere("PayPal", "https://www.paypal.com/myaccount/autopay/"),
    "patreon": KeptElsewhere("Patreon", "https://www.patreon.com/settings/memberships"),
}


def kept_elsewhere(channel: str | None) -> KeptElsewhere | None:
    """Who keeps a pledge of this channel, when it is not ours (Stripe) to change."""
    return KEPT_ELSEWHERE.get(channel or "stripe")


def allows(status: str, action: str, channel: str | None = "stripe") -> bool:
    if kept_elsewhere(channel) is not None or (channel or "stripe") != "stripe":
        return False
    return action in ACTIONS.get(PledgeStatus(status), frozenset())
