"""The Simulator: state, configuration, fault switches and event emission, as one WSGI app."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

from . import shapes
from .delivery import Delivery
from .store import EventRecord, Store

try:  # the installed library's pinned version is what the service expects to receive
    import stripe

    API_VERSION = str(stripe.api_version)
except ImportError:  # pragma: no cover - the simulator also runs without the library
    API_VERSION = "2026-10-28.endive"

DEFAULT_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


@dataclass
class Faults:
    """Switches for resilience tests; counters are consumed one delivery at a time."""

    latency_ms: int = 0
    down: bool = False
    drop_webhooks: int = 0
    fail_webhooks: int = 0
    shuffle_webhooks: bool = False
    duplicate_webhooks: bool = False

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def take(self, counter: str) -> bool:
        """Consume one unit of a countdown fault; True when this delivery is affected."""
        with self._lock:
            left = getattr(self, counter)
            if left > 0:
                setattr(self, counter, left - 1)
                return True
            return False

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        with self._lock:
            for name, value in values.items():
                if name not in known:
                    raise ValueError(f"unknown fault: {name}")
                caster = int if known[name] == "int" else _as_bool
                setattr(self, name, caster(value))

    def reset(self) -> None:
        self.update(asdict(Faults()))

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def diff(before: Any, after: Any) -> Any:
    """Stripe's ``previous_attributes``: old values of what changed, nested dicts partially."""
    changed: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict) and key != "items":
            changed[key] = diff(old, new)
        else:
            changed[key] = old
    for key in after.keys() - before.keys():
        changed[key] = None
    return changed


class Simulator:
    """A stateful stand-in for Stripe's HTTP API; call it as a WSGI application."""

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str = "whsec_test",
        api_key_prefix: str = "sk_test_",
        delivery_workers: int = 4,
        retry_delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
        base_url: str = "http://127.0.0.1:12111",
        settlement_currency: str | None = None,
    ) -> None:
        self.store = Store()
        #: The account's currency: balance transactions are converted into it (lower case);
        #: None settles each charge in its own currency.
        self.settlement_currency = settlement_currency.lower() if settlement_currency else None
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        #: The endpoint's event types, as a Stripe webhook endpoint's `enabled_events`: only
        #: these are delivered ("*" for all); every event is still stored and listed.
        self.enabled_events: frozenset[str] = frozenset({"*"})
        self.api_key_prefix = api_key_prefix
        # Where hosted pages live, as the browser sees it; set by the server once bound.
        self.base_url = base_url
        self.faults = Faults()
        self.delivery = Delivery(self, delivery_workers, tuple(retry_delays))
        self._batch: list[EventRecord] | None = None
        self._request: dict[str, Any] | None = None
        from .app import build_app  # late: the app modules import this one

        self._app = build_app(self)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self._app(environ, start_response)

    # -- state ---------------------------------------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        return self.store.lock

    def now(self) -> int:
        return self.store.now()

    def new_id(self, prefix: str) -> str:
        return self.store.new_id(prefix)

    def reset(self) -> None:
        with self.lock:
            self.store.reset()
        self.delivery.clear()
        self.faults.reset()

    @contextmanager
    def transaction(self, request: dict[str, Any] | None = None) -> Iterator[None]:
        """Hold the state lock; events emitted inside are queued for delivery at the end.

        Events are delivered even when the block ends in an error (a declined card): they
        were stored, so Stripe would have sent them.
        """
        outer, batch = False, None
        try:
            with self.lock:
                outer = self._batch is None
                if outer:
                    self._batch, self._request = [], request
                try:
                    yield
                finally:
                    if outer:
                        batch, self._batch, self._request = self._batch, None, None
        finally:
            if outer and batch and self.webhook_url:
                self.delivery.submit([r for r in batch if self.delivers(r.type)])

    def delivers(self, event_type: str) -> bool:
        """Whether the webhook endpoint is subscribed to this event type."""
        return "*" in self.enabled_events or event_type in self.enabled_events

    def emit(
        self, type_: str, obj: dict[str, Any], previous_attributes: dict[str, Any] | None = None
    ) -> str:
        """Record an event holding a snapshot of ``obj`` as it is now."""
        with self.transaction():
            request = self._request or {"id": None, "idempotency_key": None}
            event = shapes.event(
                self.new_id("evt"),
                self.now(),
                type_,
                obj,
                API_VERSION,
                previous_attributes,
                dict(request),
                1 if self.webhook_url and self.delivers(type_) else 0,
            )
            record = self.store.add_event(event)
            assert self._batch is not None
            self._batch.append(record)
            return record.id

    # -- inspection helpers for tests ----------------------------------------------------

    def get(self, obj_id: str) -> dict[str, Any] | None:
        """A copy of any stored object (event ids included)."""
        with self.lock:
            record = self.store.event(obj_id)
            if record is not None:
                return record.as_dict()
            obj = self.store.get(obj_id)
            return copy.deepcopy(obj) if obj is not None else None

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """All events so far, oldest first, optionally of one type."""
        with self.lock:
            records = list(self.store.events)
        return [r.as_dict() for r in records if type_ is None or r.type == type_]

    def event_types(self) -> list[str]:
        with self.lock:
            return [r.type for r in self.store.events]

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self.store.newest_first(object_type)))

    def deliveries(self) -> list[dict[str, Any]]:
        return self.delivery.entries()

    def flush(self, timeout: float = 10) -> bool:
        return self.delivery.flush(timeout)

    def close(self) -> None:
        self.delivery.stop()


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, indent=2).encode()
