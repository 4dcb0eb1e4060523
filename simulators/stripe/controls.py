"""The /_sim test controls: complete checkouts, move time, renew, dispute, faults, webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import flows, subscriptions
from .cards import CardInputError, check_card
from .params import StripeError

if TYPE_CHECKING:
    from .core import Simulator

JSON = dict[str, Any]
LOOPBACK = ("127.", "::1", "::ffff:127.")


def reply(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, indent=2), status=status, content_type="application/json")


def error_reply(message: str, status: int = 400, **extra: Any) -> Response:
    return reply({"error": {"message": message, **extra}}, status)


def inputs(request: Request) -> JSON:
    """JSON body, or form fields and query args, as one flat dict."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    merged = dict(request.args.items())
    merged.update(request.form.items())
    return merged


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


def _outcome(data: JSON) -> str | None:
    outcome = data.get("outcome")
    if outcome not in (None, "", "paid", "failed"):
        raise StripeError("outcome must be paid or failed")
    return outcome or None


# -- handlers -------------------------------------------------------------------------------


def complete_checkout(sim: Simulator, data: JSON, session_id: str) -> Response:
    try:
        card = check_card(
            str(data.get("card", "4242424242424242")),
            str(data.get("exp", flows.DEFAULT_EXPIRY)),
            str(data.get("cvc", "123")),
            sim.now(),
        )
        session = flows.complete_checkout(
            sim,
            session_id,
            card,
            data.get("email"),
            data.get("name"),
            is_async=_flag(data.get("async", "")),
        )
    except CardInputError as exc:
        return error_reply(str(exc), 400, type="card_error", param=exc.field)
    except flows.CardDeclined as exc:
        return error_reply(exc.message, 402, type="card_error", decline_code=exc.decline_code)
    except flows.SessionNotOpen as exc:
        return error_reply(f"Checkout session is not open (status {exc}).", 409)
    return reply(
        {"session": sim.get(session["id"]), "redirect_url": flows.success_redirect(session)}
    )


def settle_async(sim: Simulator, data: JSON, session_id: str) -> Response:
    result = data.get("result", "succeeded")
    if result not in ("succeeded", "failed"):
        raise StripeError("result must be succeeded or failed")
    session = flows.settle_async(sim, session_id, result == "succeeded")
    return reply({"session": sim.get(session["id"])})


def advance_subscription(sim: Simulator, data: JSON, sub_id: str) -> Response:
    invoice = flows.advance_subscription(sim, sub_id, _outcome(data))
    # A subscription set to cancel at period end ends instead of renewing.
    return reply(sim.get(invoice["id"]) if invoice else sim.get(sub_id))


def pause_subscription(sim: Simulator, data: JSON, sub_id: str) -> Response:
    return reply(sim.get(subscriptions.pause(sim, sub_id)["id"]))


def retry_invoice(sim: Simulator, data: JSON, invoice_id: str) -> Response:
    return reply(sim.get(flows.retry_invoice(sim, invoice_id, _outcome(data))["id"]))


def advance_clock(sim: Simulator, data: JSON) -> Response:
    # `to` (a timestamp) or `seconds` (a duration)
    to = data.get("to")
    seconds = int(to) - sim.now() if to else int(float(data.get("seconds", 0)))
    return reply(flows.advance_clock(sim, max(0, seconds)))


def clock(sim: Simulator, data: JSON) -> Response:
    return reply({"now": sim.now(), "offset": sim.store.clock_offset})


def dispute(sim: Simulator, data: JSON, charge_id: str) -> Response:
    amount = int(data["amount"]) if data.get("amount") not in (None, "") else None
    reason = data.get("reason") or "fraudulent"
    dp = flows.open_dispute(
        sim,
        charge_id,
        amount,
        reason,
        inquiry=_flag(data.get("inquiry")),
        prevented=_flag(data.get("prevented")),
    )
    return reply(sim.get(dp["id"]))


def fail_refund(sim: Simulator, data: JSON, refund_id: str) -> Response:
    re = flows.fail_refund(sim, refund_id, data.get("reason") or "expired_or_canceled_card")
    return reply(sim.get(re["id"]))


def close_dispute(sim: Simulator, data: JSON, dispute_id: str) -> Response:
    status = data.get("status")
    if status not in ("won", "lost"):
        raise StripeError("status must be won or lost")
    return reply(sim.get(flows.close_dispute(sim, dispute_id, status)["id"]))


def redeliver(sim: Simulator, data: JSON, event_id: str) -> Response:
    record = sim.store.event(event_id)
    if record is None:
        return error_reply(f"No such event: {event_id}", 404)
    if not sim.webhook_url:
        return error_reply("No webhook URL configured.", 409)
    sim.delivery.submit([record])
    return reply({"queued": event_id})


def deliveries(sim: Simulator, data: JSON) -> Response:
    return reply({"data": sim.delivery.entries(), "counts": sim.delivery.counts()})


def webhooks(sim: Simulator, data: JSON) -> Response:
    """The webhook endpoint: its url, secret and enabled_events (a list of event types, or
    ["*"], the default, for all)."""
    if "enabled_events" in data:
        enabled = data["enabled_events"]
        if isinstance(enabled, str):
            enabled = [part for part in enabled.split(",") if part]
        if not enabled or not all(isinstance(t, str) and t for t in enabled):
            return error_reply("enabled_events must be a list of event types, or ['*'].", 400)
        sim.enabled_events = frozenset(enabled)
    if "url" in data:
        sim.webhook_url = data["url"] or None
    if data.get("secret"):
        sim.webhook_secret = data["secret"]
    return reply(
        {
            "url": sim.webhook_url,
            "secret": sim.webhook_secret,
            "enabled_events": sorted(sim.enabled_events),
        }
    )


def flush(sim: Simulator, data: JSON) -> Response:
    drained = sim.flush(float(data.get("timeout", 10)))
    return reply({"drained": drained, "counts": sim.delivery.counts()})


def set_faults(sim: Simulator, data: JSON) -> Response:
    try:
        sim.faults.update(data)
    except (ValueError, TypeError) as exc:
        return error_reply(str(exc))
    return reply(sim.faults.as_dict())


def get_faults(sim: Simulator, data: JSON) -> Response:
    return reply(sim.faults.as_dict())


def clear_faults(sim: Simulator, data: JSON) -> Response:
    sim.faults.reset()
    return reply(sim.faults.as_dict())


def reset(sim: Simulator, data: JSON) -> Response:
    sim.reset()
    return reply({"reset": True})


ROUTES: list[tuple[str, list[str], Callable[..., Response]]] = [
    ("/_sim/checkout/<session_id>/complete", ["POST"], complete_checkout),
    ("/_sim/checkout/<session_id>/async", ["POST"], settle_async),
    ("/_sim/subscriptions/<sub_id>/advance", ["POST"], advance_subscription),
    ("/_sim/subscriptions/<sub_id>/pause", ["POST"], pause_subscription),
    ("/_sim/invoices/<invoice_id>/retry", ["POST"], retry_invoice),
    ("/_sim/clock/advance", ["POST"], advance_clock),
    ("/_sim/clock", ["GET"], clock),
    ("/_sim/charges/<charge_id>/dispute", ["POST"], dispute),
    ("/_sim/disputes/<dispute_id>/close", ["POST"], close_dispute),
    ("/_sim/refunds/<refund_id>/fail", ["POST"], fail_refund),
    ("/_sim/events/<event_id>/redeliver", ["POST"], redeliver),
    ("/_sim/deliveries", ["GET"], deliveries),
    ("/_sim/webhooks", ["GET", "POST"], webhooks),
    ("/_sim/flush", ["POST"], flush),
    ("/_sim/faults", ["POST"], set_faults),
    ("/_sim/faults", ["GET"], get_faults),
    ("/_sim/faults", ["DELETE"], clear_faults),
    ("/_sim/reset", ["POST"], reset),
]


class Controls:
    """WSGI handler for /_sim paths; answers loopback clients only."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.urls = Map([Rule(path, methods=m, endpoint=h) for path, m, h in ROUTES])

    def __call__(self, request: Request) -> Response:
        if not (request.remote_addr or "127.").startswith(LOOPBACK):
            return error_reply("Test controls only answer loopback clients.", 403)
        try:
            handler, args = self.urls.bind_to_environ(request.environ).match()
        except NotFound:
            return error_reply(f"Unknown control: {request.path}", 404)
        except MethodNotAllowed:
            return error_reply(f"Method not allowed: {request.method} {request.path}", 405)
        try:
            return handler(self.sim, inputs(request), **args)
        except StripeError as exc:
            return reply({"error": exc.body}, exc.status)
        except (ValueError, TypeError) as exc:
            return error_reply(str(exc))
