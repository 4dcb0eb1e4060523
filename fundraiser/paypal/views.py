"""POST /paypal/ipn: PayPal's Instant Payment Notifications, counted once verified."""

from __future__ import annotations

from flask import Blueprint, request

from fundraiser.extensions import csrf, limiter
from fundraiser.paypal import services

bp = Blueprint("paypal", __name__)


@bp.post("/paypal/ipn")
@csrf.exempt
@limiter.exempt
def ipn():
    """Receive one IPN message: 200 with an empty body, unless it must be sent again."""
    outcome = services.receive(request.get_data(cache=False))
    # Anything but a 200 makes PayPal send the message again: only worth it when the
    # verification address could not be asked (a refused message stays refused).
    status = 503 if outcome == services.Outcome.RETRY else 200
    return "", status, {"Cache-Control": "no-store"}
