"""Card-testing defence: an attack pattern meets friction; ordinary donors get through."""

from __future__ import annotations

import re

import pytest
import time_machine

from fundraiser.donations import abuse
from fundraiser.donations.abuse import Thresholds
from tests.helpers import ORIGIN, pay, session_id_from

SMALL = Thresholds(per_address=4, small_gifts=5, small_minor=300, declines=3, difficulty=8,
                   attack_per_address=3)  # fmt: skip


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


def solved(response) -> dict:
    html = response.get_data(as_text=True)
    challenge = re.search(r'name="pow_challenge" value="([^"]+)"', html).group(1)
    difficulty = int(re.search(r'data-difficulty="(\d+)"', html).group(1))
    return {"pow_challenge": challenge, "pow_solution": str(abuse.solve(challenge, difficulty))}


def test_honeypot_catches_simple_bots(client, campaign, stripe_sim):
    response = attempt(client, campaign, "203.0.113.9", amount="25", website="http://spam")
    assert response.status_code == 400
    assert stripe_sim.sim.objects("checkout.session") == []


def test_attack_pattern_meets_friction_while_ordinary_donors_get_through(
    client, campaign, stripe_sim, strict
):
    before = attempt(client, campaign, "198.51.100.1", amount="25")
    assert before.status_code == 303  # no attack yet: no friction at all

    for n in range(12):  # many €1 checkouts from many addresses: a card tester's pattern
        attempt(client, campaign, f"203.0.113.{n + 10}")
    sessions_during_attack = len(stripe_sim.sim.objects("checkout.session"))
    for n in range(5):
        response = attempt(client, campaign, f"203.0.113.{n + 100}")
        assert response.status_code == 200 and "One more step" in response.get_data(as_text=True)
    assert len(stripe_sim.sim.objects("checkout.session")) == sessions_during_attack

    repeat = [attempt(client, campaign, "203.0.113.200").status_code for _ in range(5)]
    assert repeat[-1] == 429

    donor = attempt(client, campaign, "192.0.2.77", amount="25")
    assert "One more step" in donor.get_data(as_text=True)
    through = attempt(client, campaign, "192.0.2.77", amount="25", **solved(donor))
    assert through.status_code == 303 and "/c/pay/" in through.headers["Location"]


def test_a_proof_of_work_is_single_use(client, campaign, stripe_sim, strict):
    for n in range(6):
        attempt(client, campaign, f"203.0.113.{n + 10}")
    first = attempt(client, campaign, "192.0.2.5", amount="25")
    proof = solved(first)
    assert attempt(client, campaign, "192.0.2.5", amount="25", **proof).status_code == 303
    again = attempt(client, campaign, "192.0.2.6", amount="30", **proof)
    assert "One more step" in again.get_data(as_text=True)


def test_declines_switch_the_defence_on_and_it_ends_with_the_attack(
    app, client, campaign, stripe_sim, strict
):
    for n in range(3):
        response = attempt(client, campaign, f"198.51.100.{n + 20}", amount="25")
        pay(stripe_sim, session_id_from(response), card="4000000000000002")
    with app.test_request_context():
        assert abuse.under_attack()
    assert "One more step" in attempt(client, campaign, "192.0.2.8", amount="25").get_data(
        as_text=True
    )
    with time_machine.travel(abuse.time.time() + 2 * abuse.WINDOW_SECONDS + 5, tick=False):
        response = attempt(client, campaign, "192.0.2.9", amount="25")
    assert response.status_code == 303
