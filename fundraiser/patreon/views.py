"""POST /patreon/webhook: Patreon's member and pledge events, signed with HMAC-MD5."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from fundraiser.extensions import csrf, limiter
from fundraiser.patreon import services

bp = Blueprint("patreon", __name__)


@bp.post("/patreon/webhook")
@csrf.exempt
@limiter.exempt
def webhook():
    """Receive one Patreon webhook: 400 and nothing stored unless its signature is good."""
    status, reason = services.receive_webhook(
        request.get_data(cache=False),
        request.headers.get("X-Patreon-Event"),
        request.headers.get("X-Patreon-Signature"),
    )
    return jsonify({"status": reason}), status
