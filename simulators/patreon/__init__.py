"""A Patreon stand-in on loopback: the members API (v2, cursor pagination, rate limits), a
page to become a patron, signed webhooks and a control to charge every patron
(`flask patreon simulator`)."""

from simulators.patreon.core import PatreonSimulator, start_simulator

__all__ = ["PatreonSimulator", "start_simulator"]
