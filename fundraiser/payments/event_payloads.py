"""Does a signed event's payload fit its type? Checked before anything is stored or applied.

The webhook answers 400 only for a payload that doesn't fit its event type (MalformedEvent,
raised here, or a payload naming an object Stripe doesn't have). Every other error, raised by
our own code or by an object re-fetched from Stripe, is a 500 kept for the drift report: so
the handlers may trust what this module let through, and must not treat their own
KeyError or TypeError as the sender's fault.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Longest id we store or look up (stripe_events.id is VARCHAR(255)).
MAX_ID = 255
#: Largest amount in minor units we take from a payload (Stripe's own limit is 8 digits).
MAX_AMOUNT = 10**12
#: Unix seconds (a 64-bit integer in both databases; Stripe's are far smaller).
MAX_CREATED = 2**62


class MalformedEvent(ValueError):
    """A signed event whose payload doesn't fit its type; the message says where."""


# The fields each type's handler reads from the event's object, beyond its `id`:
# "id" is a Stripe id (text, or an expanded object with one), "text" text, "int" an integer,
# "amount" a non-negative amount in minor units, "map" an object of text (metadata), and a
# dict an object checked field by field. A field may be absent or null unless REQUIRED.
_METADATA = {"metadata": "map"}
_SPECS: dict[str, dict[str, Any]] = {
    "checkout.session": {
        **_METADATA,
        "client_reference_id": "text",
        "customer": "id",
        "customer_details": {"email": "text"},
        "status": "text",
        "mode": "text",
        "subscription": "id",
        "payment_intent": "id",
        "payment_status": "text",
        "invoice": "id",
    },
    "payment_intent": _METADATA,
    "invoice": {
        "parent": {"subscription_details": {"subscription": "id", **_METADATA}},
        "attempt_count": "int",
        "hosted_invoice_url": "text",
        "customer_email": "text",
    },
    "customer.subscription": {},
    "charge.refunded": {"payment_intent": "id"},
    "refund": {"charge": "id", "payment_intent": "id"},
    # Booked from the event's own dispute (its status and amount), not a re-fetched one.
    "charge.dispute": {
        "charge": "id",
        "payment_intent": "id",
        "amount": "amount",
        "status": "text",
        "created": "int",
    },
}
REQUIRED = {"refund": ("charge",), "charge.dispute": ("charge", "amount")}


def check(event: dict) -> None:
    """Raise MalformedEvent unless the verified event fits its type (gateway.verify_webhook
    has made sure of an id, a type and a data object)."""
    _storable(event, "event")
    _text(event["id"], "id", limit=MAX_ID, empty=False)
    _text(event["type"], "type", limit=100, empty=False)
    created = event.get("created")
    if created is not None and not (_is_int(created) and 0 <= created < MAX_CREATED):
        raise MalformedEvent("created is not a time in unix seconds")
    obj = event["data"]["object"]
    _text(obj.get("id"), "data.object.id", limit=MAX_ID, empty=False)
    prefix = next((p for p in _SPECS if event["type"].startswith(p + ".")), None)
    if prefix is None:
        return
    for field in REQUIRED.get(prefix, ()):
        if obj.get(field) is None:
            raise MalformedEvent(f"data.object.{field} is missing")
    _fits(obj, _SPECS[prefix], "data.object")


def _fits(obj: dict, spec: dict[str, Any], where: str) -> None:
    for field, kind in spec.items():
        value = obj.get(field)
        place = f"{where}.{field}"
        if value is None:
            continue
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                raise MalformedEvent(f"{place} is not an object")
            _fits(value, kind, place)
        elif kind == "id":
            _text(value.get("id") if isinstance(value, dict) else value, place, MAX_ID, False)
        elif kind == "text":
            _text(value, place)
        elif kind == "int":
            if not _is_int(value) or abs(value) >= MAX_CREATED:
                raise MalformedEvent(f"{place} is not an integer")
        elif kind == "amount":
            if not _is_int(value) or not 0 <= value <= MAX_AMOUNT:
                raise MalformedEvent(f"{place} is not an amount in minor units")
        elif kind == "map" and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            raise MalformedEvent(f"{place} is not an object of text")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, place: str, limit: int | None = None, empty: bool = True) -> None:
    if not isinstance(value, str) or (not empty and not value):
        raise MalformedEvent(f"{place} is not {'text' if empty else 'an id'}")
    if limit is not None and len(value) > limit:
        raise MalformedEvent(f"{place} is longer than {limit} characters")


def _storable(value: Any, place: str) -> None:
    """Every string storable as text in both databases (no NUL, no lone surrogates), every
    number finite: the payload is kept as JSON until a worker applies it."""
    if _plainly_storable(value):
        return
    problem = _unstorable(value, 0)
    if problem is not None:
        raise MalformedEvent(f"{place}{problem}")


def _plainly_storable(value: Any) -> bool:
    """The quick yes for an ordinary payload, from json's C encoder rather than a walk in
    Python: it refuses a number that isn't finite, writes a NUL as \\u0000 and any surrogate
    (a lone one, or half of a pair) as \\udXXX, and nesting deeper than _unstorable allows
    takes more brackets than the text has. False means "walk it": the walk decides (a
    paired surrogate is fine) and says what and where."""
    try:
        text = _STRICT_JSON.encode(value)
    except (ValueError, TypeError, RecursionError):
        return False
    return (
        "\\u0000" not in text
        and "\\ud" not in text
        and text.count("{") + text.count("[") <= _MAX_DEPTH
    )


#: Containers nested deeper than this are refused (_unstorable).
_MAX_DEPTH = 64
#: One encoder for every event (json.dumps builds a new one whenever given an option).
_STRICT_JSON = json.JSONEncoder(allow_nan=False)


def _unstorable(value: Any, depth: int) -> str | None:
    """What makes the value unstorable, with where (".a.b: …"), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return ": a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return ": not valid Unicode"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else ": not a finite number"
    if depth > _MAX_DEPTH and isinstance(value, dict | list):
        return ": nested too deeply"
    if isinstance(value, dict):
        for key, child in value.items():
            problem = _unstorable(key, depth + 1) or _unstorable(child, depth + 1)
            if problem is not None:
                return f".{str(key)[:40]!r}{problem}" if depth < 6 else problem
    elif isinstance(value, list):
        for child in value:
            problem = _unstorable(child, depth + 1)
            if problem is not None:
                return problem
    return None
