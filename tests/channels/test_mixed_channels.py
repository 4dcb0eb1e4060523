"""Every channel in one set of books: roll-ups and totals always equal the ledger's own sums."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fundraiser.campaigns.services import campaign_by_slug, campaign_totals, channel_sums
from fundraiser.extensions import db
from fundraiser.models import EntryKind, LedgerEntry, Pledge
from fundraiser.payments import channel_books, ledger, rollups
from fundraiser.payments.channel_books import ChannelFact
from fundraiser.payments.errors import NotAllowed
from fundraiser.payments.pledges import cancel, change_amount
from tests.factories import add_payment

_ids = itertools.count(1)
gift = st.tuples(
    st.sampled_from(["stripe", "paypal", "patreon", "offline"]),
    st.sampled_from(["EUR", "GBP", "JPY"]),
    st.integers(min_value=1, max_value=500_000),
    st.integers(min_value=0, max_value=100),  # percent refunded afterwards
)


def _book(campaign, channel: str, currency: str, amount: int, refunded: int) -> None:
    if channel == "stripe":
        add_payment(campaign.slug, amount, currency=currency)
        return
    external = f"h{next(_ids)}"
    facts = [
        ChannelFact(channel, external, EntryKind.PAYMENT, campaign.id, amount, currency,
                    email=f"{external}@example.org")
    ]  # fmt: skip
    if refunded and amount * refunded // 100:
        facts.append(
            ChannelFact(channel, f"{external}:r", EntryKind.REFUND, campaign.id,
                        -(amount * refunded // 100), currency, payment_external_id=external)
        )  # fmt: skip
    channel_books.record_all(facts, "test:hypothesis")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(gifts=st.lists(gift, max_size=8))
def test_totals_equal_a_recomputation_from_the_ledger(app, campaign, gifts):
    with app.app_context():
        appeal = campaign_by_slug(campaign)
        for channel, currency, amount, refunded in gifts:
            _book(appeal, channel, currency, amount, refunded)
        recomputed: dict[str, dict[str, int]] = {}
        query = select(
            LedgerEntry.channel, LedgerEntry.currency, func.sum(LedgerEntry.amount_minor)
        )
        for channel, currency, total in db.session.execute(
            query.group_by(LedgerEntry.channel, LedgerEntry.currency)
        ):
            recomputed.setdefault(channel, {})[currency] = int(total)
        assert channel_sums(appeal.id) == recomputed
        by_currency = campaign_totals(appeal).by_currency
        for currency, total in by_currency.items():
            assert total == sum(sums.get(currency, 0) for sums in recomputed.values())
        before = rollups.snapshot()
        ledger.change("test:rebuild", rollups.rebuild)
        assert set(rollups.differing_rows(before, rollups.snapshot()).values()) <= {0}


def test_pledges_of_other_channels_are_changed_only_there(app, campaign):
    with app.app_context():
        appeal = campaign_by_slug(campaign)
        pledge = Pledge(
            stripe_subscription_id="paypal:I-ABC", channel="paypal", campaign_id=appeal.id,
            amount_minor=500, currency="EUR", interval="month", status="active",
        )  # fmt: skip
        db.session.add(pledge)
        db.session.commit()
        for attempt in (
            lambda: change_amount(pledge, 900, "test"),
            lambda: cancel(pledge, "", "t"),
        ):
            try:
                attempt()
            except NotAllowed as error:
                assert "kept at PayPal" in str(error)
            else:
                raise AssertionError("a PayPal pledge was changed from here")
