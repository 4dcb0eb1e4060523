"""Card-testing defence: the sources that behave like card testers meet friction; nobody else."""

from __future__ import annotations

import re

import pytest
import time_machine

from fundraiser.donations import abuse
from fundraiser.donations.abuse import Thresholds
from tests.helpers import ORIGIN, pay, session_id_from

SMALL = Thresholds(per_address=4, small_per_address=3, declines_per_address=2, per_network=20,
                   small_per_network=5, declines_per_network=3, small_minor=300, declines=3,
                   decline_networks=3, difficulty=8, max_extra_difficulty=2)  # fmt: skip


@pytest.fixture
def strict(app):
    original = app.config.get("ABUSE_THRESHOLDS")
    app.config["ABUSE_THRESHOLDS"] = SMALL
    yield SMALL
    app.config["ABUSE_THRESHOLDS"] = original


def attempt(client, campaign, address: str, amount: str = "1", **extra):
    form = {"campaign": campaign, "amount": "other", "amount_other": amount, "currency": "EUR",
            "frequency": "one-time", **extra}  # fmt: skip
    return client.post("/donate", data=form, headers=ORIGIN, environ_base={"REMOTE_ADDR": address})


def challenged(response) -> bool:
    return response.status_code == 200 and "One more step" in response.get_data(as_text=True)


def solved(response) -> dict:
    html = response.get_data(as_text=True)
    challenge = re.search(r'name="pow_challenge" value="([^"]+)"', html).group(1)
    difficulty = int(re.search(r'data-difficulty="(\d+)"', html).group(1))
    return {"pow_challenge": challenge, "pow_solution": str(abuse.solve(challenge, difficulty))}


def honest_donors(client, campaign, count: int = 10) -> list[int]:
    """Donors of €25 from networks no tester uses; the status each one meets."""
    return [attempt(client, campaign, f"100.64.{n}.9", amount="25").status_code
            for n in range(count)]  # fmt: skip


def test_honeypot_catches_simple_bots(client, campaign, stripe_sim):
    response = attempt(client, campaign, "203.0.113.9", amount="25", website="http://spam")
    assert response.status_code == 400
    assert stripe_sim.sim.objects("checkout.session") == []


def test_unpaid_small_posts_from_one_address_do_not_touch_other_donors(
    client, campaign, stripe_sim
):
    """The finding: 33+ unpaid €0.50 posts from one address switched friction on for all."""
    for _ in range(45):  # default thresholds: what the penetration test did, and more
        attempt(client, campaign, "203.0.113.7", amount="0.50")
    assert honest_donors(client, campaign) == [303] * 10
    assert challenged(attempt(client, campaign, "203.0.113.7", amount="0.50"))


def test_attack_pattern_meets_friction_while_ordinary_donors_get_through(
    client, campaign, stripe_sim, strict
):
    before = attempt(client, campaign, "198.51.100.1", amount="25")
    assert before.status_code == 303  # no attack yet: no friction at all

    for n in range(12):  # many €1 checkouts from many addresses of one network
        attempt(client, campaign, f"203.0.113.{n + 10}")
    sessions_during_attack = len(stripe_sim.sim.objects("checkout.session"))
    for n in range(5):  # the tester's next addresses in that network
        assert challenged(attempt(client, campaign, f"203.0.113.{n + 100}"))
    assert len(stripe_sim.sim.objects("checkout.session")) == sessions_during_attack

    # Pushing on is never a lockout, only dearer proofs (a NAT's donors share the address).
    repeat = [attempt(client, campaign, "203.0.113.200") for _ in range(12)]
    assert all(challenged(response) for response in repeat)
    assert 'data-difficulty="10"' in repeat[-1].get_data(as_text=True)  # 8 + at most 2

    assert honest_donors(client, campaign) == [303] * 10


def test_a_donor_sharing_a_testers_address_completes_after_the_challenge(
    client, campaign, stripe_sim, strict
):
    for _ in range(20):  # a card tester behind a NAT that also serves an honest reader
        attempt(client, campaign, "203.0.113.7", amount="0.50")
    donor = attempt(client, campaign, "203.0.113.7", amount="25")
    assert challenged(donor)
    through = attempt(client, campaign, "203.0.113.7", amount="25", **solved(donor))
    assert through.status_code == 303 and "/c/pay/" in through.headers["Location"]
    result = pay(stripe_sim, session_id_from(through))
    assert "/donate/thanks" in result["redirect_url"]


def test_a_proof_of_work_is_single_use(client, campaign, stripe_sim, strict):
    for n in range(6):
        attempt(client, campaign, f"203.0.113.{n + 10}")
    first = attempt(client, campaign, "203.0.113.50", amount="25")
    proof = solved(first)
    assert attempt(client, campaign, "203.0.113.50", amount="25", **proof).status_code == 303
    again = attempt(client, campaign, "203.0.113.51", amount="30", **proof)
    assert challenged(again)


def test_declines_reported_by_stripe_single_out_their_source(
    app, client, campaign, stripe_sim, strict
):
    for _ in range(2):  # €25 each: nothing small, only Stripe's word that the cards failed
        response = attempt(client, campaign, "198.51.100.20", amount="25")
        pay(stripe_sim, session_id_from(response), card="4000000000000002")
    assert challenged(attempt(client, campaign, "198.51.100.20", amount="25"))
    assert attempt(client, campaign, "198.51.100.21", amount="25").status_code == 303
    with app.test_request_context():
        assert not abuse.under_attack()  # one source's declines are that source's problem


def test_declines_from_many_networks_switch_the_defence_on_and_it_ends_with_the_attack(
    app, client, campaign, stripe_sim, strict
):
    for n in range(3):  # a distributed attack: declines from three networks
        response = attempt(client, campaign, f"198.51.{100 + n}.20", amount="25")
        pay(stripe_sim, session_id_from(response), card="4000000000000002")
    with app.test_request_context():
        assert abuse.under_attack()
    assert challenged(attempt(client, campaign, "192.0.2.8", amount="25"))
    with time_machine.travel(abuse.time.time() + 2 * abuse.WINDOW_SECONDS + 5, tick=False):
        response = attempt(client, campaign, "192.0.2.9", amount="25")
    assert response.status_code == 303
