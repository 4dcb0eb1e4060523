"""What a supporter may do to their own pledge, carried out through the payments package."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fundraiser.accounts.status_words import pledge_status_word
from fundraiser.models import Pledge, Supporter
from fundraiser.money import AmountError, check_donation_amount, parse_reader_amount
from fundraiser.payments import pledge_policy

log = logging.getLogger(__name__)

UNAVAILABLE = _l("Payments are briefly unavailable, please try again in a few minutes.")


class PledgeActionError(Exception):
    """A change that did not happen; the message is shown to the supporter."""


def allowed(pledge: Pledge, action: str) -> bool:
    return pledge_policy.allows(pledge.status, action, pledge.channel)


def kept_elsewhere(pledge: Pledge) -> pledge_policy.KeptElsewhere | None:
    """PayPal or Patreon, when the pledge is theirs to change (we only mirror it)."""
    return pledge_policy.kept_elsewhere(pledge.channel)


def kept_elsewhere_channel(channel: str | None) -> pledge_policy.KeptElsewhere | None:
    return pledge_policy.kept_elsewhere(channel)


def refuse_if_kept_elsewhere(pledge: Pledge) -> None:
    """Raise PledgeActionError for a pledge we only mirror: nothing of it reaches Stripe."""
    keeper = kept_elsewhere(pledge)
    if keeper is not None:
        raise PledgeActionError(keeper.message)


def _actor(supporter: Supporter) -> str:
    return f"supporter:{supporter.id}"


def _call(pledge: Pledge, action: str, work: Callable[[], object]):
    """Run one payments call, turning its failures into a message for people."""
    from fundraiser.payments.errors import NotAllowed
    from fundraiser.payments.gateway import PaymentRefused, PaymentsUnavailable

    refuse_if_kept_elsewhere(pledge)
    if not allowed(pledge, action):
        raise PledgeActionError(
            _(
                "That isn't possible while the pledge is %(status)s.",
                status=pledge_status_word(pledge.status),
            )
        )
    try:
        return work()
    except PaymentsUnavailable as exc:
        log.warning("pledge %s %s: payments unavailable (%s)", pledge.id, action, exc)
        raise PledgeActionError(str(UNAVAILABLE)) from exc
    except (NotAllowed, PaymentRefused) as exc:
        raise PledgeActionError(str(exc) or _("Stripe refused that change.")) from exc


def _payments():
    from fundraiser.payments import pledges

    return pledges


def change_amount(supporter: Supporter, pledge: Pledge, amount_text: str) -> Pledge:
    try:
        amount_minor = parse_reader_amount(amount_text, pledge.currency)
        check_donation_amount(
            amount_minor, pledge.currency, current_app.config["DONATION_MAX_MAJOR"]
        )
    except AmountError as exc:
        raise PledgeActionError(str(exc)) from exc
    if amount_minor == pledge.amount_minor:
        raise PledgeActionError(_("That is already the amount of this pledge."))
    return _call(
        pledge,
        "amount",
        lambda: _payments().change_amount(pledge, amount_minor, _actor(supporter)),
    )


def change_interval(supporter: Supporter, pledge: Pledge, interval: str) -> Pledge:
    if interval not in pledge_policy.INTERVALS:
        raise PledgeActionError(_("Please choose monthly or yearly."))
    if interval == pledge.interval:
        raise PledgeActionError(_("The pledge already has that interval."))
    return _call(
        pledge,
        "interval",
        lambda: _payments().change_interval(pledge, interval, _actor(supporter)),
    )


def pause(supporter: Supporter, pledge: Pledge, months: int) -> Pledge:
    if months not in pledge_policy.PAUSE_MONTHS:
        raise PledgeActionError(_("You can pause for 1, 2 or 3 months."))
    return _call(pledge, "pause", lambda: _payments().pause(pledge, months, _actor(supporter)))


def resume(supporter: Supporter, pledge: Pledge) -> Pledge:
    return _call(pledge, "resume", lambda: _payments().resume(pledge, _actor(supporter)))


def cancel(supporter: Supporter, pledge: Pledge, reason: str) -> Pledge:
    reason = (reason or "").strip()[:1000]
    return _call(pledge, "cancel", lambda: _payments().cancel(pledge, reason, _actor(supporter)))


def card_update_url(supporter: Supporter, pledge: Pledge, return_url: str) -> str:
    return _call(pledge, "card", lambda: _payments().card_update_url(pledge, return_url))
