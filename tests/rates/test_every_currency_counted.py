"""Every gift counts, in every currency: after any mix of gifts in three currencies, refunds,
refunds that fail, dispute inquiries, disputes and fees settled late, the campaign totals
(raised, by_currency, supporters) and the dashboard's combined figure equal a recomputation
from the ledger rows themselves."""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fundraiser.campaigns.services import campaign_totals
from fundraiser.dashboard.reports import combined_figure
from fundraiser.extensions import db
from fundraiser.models import EntryKind, LedgerEntry, utcnow
from fundraiser.payments import ledger, ledger_writes
from fundraiser.payments.ledger_writes import ChargeFacts, PaymentContext, Settlement
from fundraiser.rates import DEMO_SNAPSHOT, import_file, latest_rates
from tests.conftest import empty_all_tables, forget_process_caches
from tests.dashboard import factories as f

#: The simulator's rates to sterling, as Stripe would report them on a GBP account.
TO_GBP = {"GBP": None, "EUR": Decimal("0.85"), "USD": Decimal("0.787037")}
_numbers = itertools.count(1)

gifts = st.fixed_dictionaries(
    {
        "campaign": st.sampled_from(["eur", "gbp"]),
        "currency": st.sampled_from(sorted(TO_GBP)),
        "amount": st.sampled_from([500, 1000, 2500, 3333]),
        "email": st.sampled_from(["ann@example.org", "bob@example.org", "cy@example.org"]),
        "settled": st.booleans(),  # False: Stripe's balance transaction comes later
    }
)
steps = st.tuples(
    st.sampled_from(
        ["refund", "refund_all", "refund_fails", "inquiry", "opened", "won", "lost", "settle"]
    ),
    st.integers(0, 30),  # which payment
    st.integers(1, 2000),  # how much of it
)


def _settlement(currency: str, amount: int) -> Settlement:
    rate = TO_GBP[currency]
    if rate is None:
        return Settlement("GBP", amount, 20 + amount // 50, None)
    settled = int((Decimal(amount) * rate).quantize(Decimal(1), ROUND_HALF_EVEN))
    return Settlement("GBP", settled, 20 + settled // 50, rate)


def _pay(campaign, gift) -> LedgerEntry:
    number = next(_numbers)
    facts = ChargeFacts(
        payment_intent_id=f"pi_cur_{number}",
        charge_id=f"ch_cur_{number}",
        amount_minor=gift["amount"],
        currency=gift["currency"],
        occurred_at=utcnow(),
        email=gift["email"],
        name="",
        settlement=_settlement(gift["currency"], gift["amount"]) if gift["settled"] else None,
    )
    context = PaymentContext(campaign, "one-time")
    entry_id = ledger.change(
        "test:pay", lambda tx: ledger_writes.record_payment(facts, context, tx)
    )
    return db.session.get(LedgerEntry, entry_id)


def _follow_up(paid: list[LedgerEntry], step: tuple) -> None:
    action, which, amount = step
    payment = db.session.get(LedgerEntry, paid[which % len(paid)].id)
    refunded, withdrawn = ledger_writes.adjustments(payment.payment_ref)
    left = payment.amount_minor - refunded
    number = next(_numbers)
    if action in {"refund", "refund_all"}:
        if left <= 0 or withdrawn:
            return
        refund = {
            "id": f"re_cur_{number}",
            "status": "succeeded",
            "amount": left if action == "refund_all" else min(amount, left),
        }
        ledger.change("test", lambda tx: ledger_writes.record_refund(refund, payment, tx))
    elif action == "refund_fails":
        booked = db.session.scalars(
            select(LedgerEntry.stripe_ref).where(
                LedgerEntry.payment_ref == payment.payment_ref,
                LedgerEntry.kind == EntryKind.REFUND.value,
                LedgerEntry.amount_minor < 0,
            )
        ).all()
        if booked:
            failed = {"id": booked[0], "status": "failed", "amount": 0}
            ledger.change("test", lambda tx: ledger_writes.record_refund(failed, payment, tx))
    elif action == "inquiry":
        inquiry = {"id": f"dp_inq_{number}", "status": "warning_needs_response", "amount": left}
        ledger.change("test", lambda tx: ledger_writes.record_dispute_step(inquiry, payment, tx))
    elif action == "settle":
        settlement = _settlement(payment.currency, payment.amount_minor)
        ledger.change(
            "test",
            lambda tx: ledger_writes.record_fee(payment.id, payment.currency, settlement, tx),
        )
    else:
        status = {"opened": "needs_response", "won": "won", "lost": "lost"}[action]
        dispute = {"id": f"dp_cur_{which % len(paid)}", "status": status, "amount": left}
        if left > 0:
            ledger.change(
                "test", lambda tx: ledger_writes.record_dispute_step(dispute, payment, tx)
            )


def _recomputed(rows: list[LedgerEntry], target: str, settlement: str) -> int:
    """Each currency's sum counted in `target`, by the rule the totals promise."""
    by_currency, settled, all_settled = (
        defaultdict(int),
        defaultdict(int),
        defaultdict(lambda: True),
    )
    for row in rows:
        by_currency[row.currency] += row.amount_minor
        settled[row.currency] += row.settled_amount_minor or 0
        all_settled[row.currency] &= row.settled_amount_minor is not None
    rates = latest_rates()
    total = 0
    for currency, amount in by_currency.items():
        if currency == target:
            total += amount
        elif target == settlement and all_settled[currency]:
            total += settled[currency]
        else:
            total += rates.convert(amount, currency, target)
    return total


def _supporters(rows: list[LedgerEntry]) -> int:
    kept = defaultdict(int)
    for row in rows:
        if row.kind in {EntryKind.PAYMENT.value, EntryKind.REFUND.value}:
            kept[(row.currency, row.donor_email or row.payment_ref)] += row.amount_minor
    return len({donor for (_currency, donor), amount in kept.items() if amount > 0})


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(gift_list=st.lists(gifts, min_size=1, max_size=10), step_list=st.lists(steps, max_size=10))
def test_totals_and_dashboard_equal_a_recomputation_from_the_ledger(app, gift_list, step_list):
    with app.app_context():
        empty_all_tables()
        forget_process_caches(app)  # the next example reuses the campaign ids
        import_file(DEMO_SNAPSHOT)
        db.session.commit()
        campaigns = {
            "eur": f.make_campaign("eur", currency="EUR"),
            "gbp": f.make_campaign("gbp", currency="GBP"),
        }
        paid = [_pay(campaigns[gift["campaign"]], gift) for gift in gift_list]
        for step in step_list:
            _follow_up(paid, step)
        db.session.rollback()
        settlement = app.config["SETTLEMENT_CURRENCY"]
        everything = db.session.scalars(select(LedgerEntry)).all()
        for campaign in campaigns.values():
            rows = [row for row in everything if row.campaign_id == campaign.id]
            totals = campaign_totals(campaign)
            by_currency = defaultdict(int)
            for row in rows:
                by_currency[row.currency] += row.amount_minor
            assert totals.by_currency == dict(by_currency)
            assert totals.raised_minor == _recomputed(rows, campaign.currency, settlement)
            assert totals.supporters == _supporters(rows)
        assert combined_figure().raised_minor == _recomputed(everything, settlement, settlement)


def test_a_pound_gift_to_a_euro_campaign_counts_and_a_euro_gift_settles_in_pounds(
    app, client, runner, campaign, stripe_sim
):
    from tests.helpers import donate, pay, session_id_from, wait_for

    assert runner.invoke(args=["rates", "import"]).exit_code == 0
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="15", currency="GBP")))
    pay(stripe_sim, session_id_from(donate(client, campaign, amount="20", currency="EUR")))
    with app.app_context():
        rows = wait_for(lambda: len(_rows()) == 2 and _rows())
        pounds, euros = sorted(rows, key=lambda row: row.currency, reverse=True)
        assert (pounds.currency, pounds.settlement_currency, pounds.exchange_rate) == (
            "GBP",
            "GBP",
            None,
        )
        assert pounds.settled_amount_minor == 1500 and pounds.fee_minor == pounds.settled_fee_minor
        assert (euros.settlement_currency, euros.exchange_rate) == ("GBP", Decimal("0.85"))
        assert euros.settled_amount_minor == 1700  # €20.00 at 0.85
        # Stripe's fee is in pounds; the euro figure is that fee at the same rate.
        expected_fee = int((Decimal(euros.settled_fee_minor) / Decimal("0.85")).quantize(1))
        assert euros.fee_minor == expected_fee
        rates = latest_rates()
        expected = 2000 + rates.convert(1500, "GBP", "EUR")
    totals = client.get(f"/api/campaigns/{campaign}/totals").get_json()
    assert totals["by_currency"] == {"EUR": 2000, "GBP": 1500}
    assert totals["raised_minor"] == expected
    assert totals["rate_date"] == rates.day.isoformat()
    assert totals["supporters"] == 2


def _rows() -> list[LedgerEntry]:
    db.session.rollback()
    return db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
