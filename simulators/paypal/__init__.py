"""A PayPal stand-in on loopback: a hosted donate page, Instant Payment Notifications
delivered with retries, and the verification endpoint that answers VERIFIED only for
messages it sent (`flask paypal simulator`)."""

from simulators.paypal.core import PayPalSimulator, start_simulator

__all__ = ["PayPalSimulator", "start_simulator"]
