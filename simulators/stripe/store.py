"""In-memory, thread-safe state of the Stripe simulator: objects, events, idempotency, clock."""

from __future__ import annotations

import functools
import heapq
import json
import os
import string
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import shapes

_ALPHABET = string.ascii_letters + string.digits
# Maps every byte to a base62 character: ids need to look like Stripe's and be cheap to
# make in bulk (renewing 20,000 subscriptions makes 200,000 of them), not be unbiased.
_TOKEN_TABLE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))

# Stripe's id lengths differ per object type; mimic the common ones.
_ID_LENGTHS = {"cs_test": 58, "cus": 14, "si": 14, "prod": 14, "bpc": 24, "il": 24}


def random_token(length: int) -> str:
    """Return a random base62 token."""
    return os.urandom(length).translate(_TOKEN_TABLE).decode()


@functools.cache
def _compression_dictionary() -> bytes:
    """Typical event JSON: a zlib preset dictionary makes small event bodies shrink ~10x."""
    samples = b"".join(
        json.dumps(obj, separators=(",", ":")).encode() for obj in shapes.sample_objects()
    )
    return samples[-32768:]  # zlib only uses the last 32 KiB


def _compress(body: bytes) -> bytes:
    compressor = zlib.compressobj(1, zdict=_compression_dictionary())
    return compressor.compress(body) + compressor.flush()


def _decompress(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(zdict=_compression_dictionary())
    return decompressor.decompress(data) + decompressor.flush()


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event: compressed JSON body plus the fields lists filter on."""

    id: str
    type: str
    created: int
    compressed: bytes

    @classmethod
    def from_dict(cls, event: dict[str, Any]) -> EventRecord:
        body = json.dumps(event, separators=(",", ":"), check_circular=False).encode()
        return cls(event["id"], event["type"], event["created"], _compress(body))

    def json_bytes(self) -> bytes:
        return _decompress(self.compressed)

    def as_dict(self) -> dict[str, Any]:
        return json.loads(self.json_bytes())


@dataclass(slots=True)
class IdempotentResponse:
    """What a request with an Idempotency-Key produced, for replays."""

    fingerprint: str
    status: int
    body: bytes


class Store:
    """All simulator state, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.objects: dict[str, dict[str, Any]] = {}
            self.by_type: dict[str, list[str]] = defaultdict(list)
            self.events: list[EventRecord] = []
            self.event_positions: dict[str, int] = {}
            self.idempotency: dict[tuple[str, str], IdempotentResponse] = {}
            self.clock_offset = 0.0
            # (period_end, subscription id); stale entries are skipped when popped.
            self.renewals: list[tuple[int, str]] = []
            self.open_sessions: set[str] = set()
            self.deleted_customers: set[str] = set()
            # Every API request as (method, path), so a test can count calls to Stripe.
            self.requests: list[tuple[str, str]] = []
            self.line_items: dict[str, list[dict[str, Any]]] = {}
            # checkout session id → payment_intent_data / subscription_data / setup_intent_data
            # invoice id → its invoice_payment id (one payment intent per invoice here)
            self.invoice_payments: dict[str, str] = {}
            self.session_options: dict[str, dict[str, Any]] = {}
            self.item_owner: dict[str, str] = {}
            # payment method id → the test card behind it (decides later off-session charges)
            self.cards: dict[str, Any] = {}

    # -- clock ---------------------------------------------------------------------------

    def now(self) -> int:
        return int(time.time() + self.clock_offset)

    def advance_clock(self, seconds: float) -> int:
        with self.lock:
            self.clock_offset += max(0.0, seconds)
            return self.now()

    def move_clock_to(self, timestamp: int) -> int:
        """Move the clock forward to ``timestamp`` (never backwards)."""
        with self.lock:
            if timestamp > self.now():
                self.clock_offset = timestamp - time.time()
            return self.now()

    # -- objects -------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        length = _ID_LENGTHS.get(prefix, 24)
        while True:
            candidate = f"{prefix}_{random_token(length)}"
            if candidate not in self.objects and candidate not in self.event_positions:
                return candidate

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.objects[obj["id"]] = obj
            self.by_type[obj["object"]].append(obj["id"])
            return obj

    def get(self, obj_id: str, object_type: str | None = None) -> dict[str, Any] | None:
        obj = self.objects.get(obj_id)
        if obj is None or (object_type and obj["object"] != object_type):
            return None
        return obj

    def newest_first(
        self, object_type: str, keep: Callable[[dict[str, Any]], bool] | None = None
    ) -> Iterator[dict[str, Any]]:
        for obj_id in reversed(self.by_type.get(object_type, [])):
            obj = self.objects[obj_id]
            if keep is None or keep(obj):
                yield obj

    # -- events --------------------------------------------------------------------------

    def add_event(self, event: dict[str, Any]) -> EventRecord:
        record = EventRecord.from_dict(event)
        with self.lock:
            self.event_positions[record.id] = len(self.events)
            self.events.append(record)
        return record

    def event(self, event_id: str) -> EventRecord | None:
        position = self.event_positions.get(event_id)
        return None if position is None else self.events[position]

    # -- renewals ------------------------------------------------------------------------

    def schedule_renewal(self, period_end: int, subscription_id: str) -> None:
        heapq.heappush(self.renewals, (period_end, subscription_id))

    def pop_due_renewal(self, until: int) -> tuple[int, str] | None:
        if self.renewals and self.renewals[0][0] <= until:
            return heapq.heappop(self.renewals)
        return None
