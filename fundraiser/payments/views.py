"""Registers the payments blueprint (the Stripe webhook endpoint)."""

from flask import Flask

from fundraiser.payments import announcements, fees, signals
from fundraiser.payments.webhooks import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    announcements.register(app)
    signals.payment_fee_unknown.connect(fees.fill_fee_later)
