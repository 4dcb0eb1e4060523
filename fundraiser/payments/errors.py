"""Errors of our own payment rules (as opposed to Stripe's refusals, gateway.PaymentRefused)."""


class NotAllowed(ValueError):
    """A change our rules refuse (a cancelled pledge, a refund beyond what is left); the
    message can be shown to the person who asked."""
