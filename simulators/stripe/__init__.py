"""A stateful stand-in for Stripe's HTTP API, for demo mode and tests (see ``start_simulator``)."""

from .core import API_VERSION, Simulator
from .delivery import sign
from .server import SimulatorHandle, main, serve, start_simulator

__all__ = [
    "API_VERSION",
    "Simulator",
    "SimulatorHandle",
    "main",
    "serve",
    "sign",
    "start_simulator",
]
