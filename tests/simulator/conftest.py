"""Fixtures: a simulator on a free port, a signature-checking webhook receiver, a Stripe client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from simulators.stripe import SimulatorHandle, start_simulator

from .helpers import FAST_RETRIES, SECRET, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def simulator(receiver: Receiver) -> Iterator[SimulatorHandle]:
    handle = start_simulator(
        webhook_url=receiver.url, webhook_secret=SECRET, retry_delays=FAST_RETRIES
    )
    yield handle
    handle.stop()


@pytest.fixture
def stripe_client(simulator: SimulatorHandle) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key="sk_test_simulator",
        base_addresses={"api": simulator.url},
        max_network_retries=0,
    )
