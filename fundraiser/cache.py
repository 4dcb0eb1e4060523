"""Short-lived caches: in Redis (shared by every worker on every host) when REDIS_URL is set.

A cache here is only ever a shortcut. Every failure (Redis down, a timeout, a value that
will not decode) is logged and treated as a miss, so the caller computes the value instead
of failing the request. Values are JSON, never pickles: whoever can write to Redis must not
be able to run code in the app.

Without Redis each process keeps its own `LocalCache`; invalidations then reach only the
process that made them, and the short TTLs callers choose bound how stale the others get.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: After a Redis failure, leave it alone this long (seconds) rather than wait on every call.
RETRY_AFTER_SECONDS = 5.0
#: A cache is worth nothing if it is slower than computing: give up on Redis quickly.
SOCKET_TIMEOUT_SECONDS = 0.25
_EXTENSION = "fundraiser_cache"
_PAGES = "fundraiser_page_cache"
_SNAPSHOTS = "fundraiser_snapshots"


class Cache(Protocol):
    """What callers may ask of a cache; every method degrades to a miss or a no-op."""

    shared: bool

    def get_many(self, keys: Sequence[str]) -> list[Any]: ...

    def set(self, key: str, value: Any, ttl: float) -> None: ...

    def add(self, key: str, value: Any, ttl: float) -> bool: ...

    def delete(self, key: str) -> None: ...

    def incr(self, key: str, ttl: float) -> int | None: ...


class LocalCache:
    """A thread-safe, size-bounded TTL cache living in this process only."""

    shared = False

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def _live(self, key: str, now: float) -> Any:
        item = self._entries.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return item[1]

    def _store(self, key: str, value: Any, ttl: float, now: float) -> None:
        self._entries[key] = (now + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def get(self, key: str) -> Any:
        with self._lock:
            return self._live(key, time.monotonic())

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        now = time.monotonic()
        with self._lock:
            return [self._live(key, now) for key in keys]

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            self._store(key, value, ttl, time.monotonic())

    def add(self, key: str, value: Any, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._store(key, value, ttl, now)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def incr(self, key: str, ttl: float) -> int | None:
        now = time.monotonic()
        with self._lock:
            value = int(self._live(key, now) or 0) + 1
            self._store(key, value, ttl, now)
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RedisCache:
    """JSON values in Redis under a key prefix; any Redis trouble reads as a miss."""

    shared = True

    def __init__(self, url: str, prefix: str = "fundraiser:") -> None:
        self.prefix = prefix
        self.redis = Redis.from_url(
            url,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        self._down_until = 0.0

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        # Once per outage, not once per request: the breaker keeps us off Redis meanwhile.
        if self._available():
            log.warning(
                "cache %s failed (%s: %s); computing without the cache for %.0f s",
                operation,
                type(exc).__name__,
                exc,
                RETRY_AFTER_SECONDS,
            )
        self._down_until = time.monotonic() + RETRY_AFTER_SECONDS

    def get_many(self, keys: Sequence[str]) -> list[Any]:
        if not self._available():
            return [None] * len(keys)
        try:
            raw = self.redis.mget([self.prefix + key for key in keys])
            return [None if value is None else json.loads(value) for value in raw]
        except (RedisError, OSError, ValueError) as exc:
            self._failed("read", exc)
            return [None] * len(keys)

    def set(self, key: str, value: Any, ttl: float) -> None:
        if not self._available():
            return
        try:
            self.redis.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            self._failed("write", exc)

    def add(self, key: str, value: Any, ttl: float) -> bool:
        """Set only if absent (a lock); False when Redis is down, so nobody skips work."""
        if not self._available():
            return False
        try:
            return bool(
                self.redis.set(
                    self.prefix + key, json.dumps(value), px=max(1, int(ttl * 1000)), nx=True
                )
            )
        except (RedisError, OSError) as exc:
            self._failed("write", exc)
            return False

    def delete(self, key: str) -> None:
        if not self._available():
            return
        try:
            self.redis.delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            self._failed("delete", exc)

    def incr(self, key: str, ttl: float) -> int | None:
        if not self._available():
            return None
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, max(1, int(ttl)))
            value, _ = pipe.execute()
            return int(value)
        except (RedisError, OSError) as exc:
            self._failed("increment", exc)
            return None


def build_cache(app: Flask) -> Cache:
    url = app.config.get("REDIS_URL")
    if url:
        return RedisCache(url, app.config.get("CACHE_KEY_PREFIX", "fundraiser:"))
    return LocalCache()


def get_cache(app: Flask | None = None) -> Cache:
    """This app's shared cache (made on first use, so create_app needs no extra step)."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(_EXTENSION)
    if cache is None:
        cache = app.extensions.setdefault(_EXTENSION, build_cache(app))
    return cache


def page_cache(app: Flask | None = None) -> LocalCache:
    """Rendered pages, per process: faster than any network hop and keyed exactly."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(_PAGES)
    if cache is None:
        cache = app.extensions.setdefault(_PAGES, LocalCache(max_entries=32))
    return cache


def snapshots(app: Flask | None = None) -> LocalCache:
    """Finished public responses, per process, for a second or so (see campaigns.views)."""
    app = app or current_app._get_current_object()
    cache = app.extensions.get(_SNAPSHOTS)
    if cache is None:
        cache = app.extensions.setdefault(_SNAPSHOTS, LocalCache(max_entries=256))
    return cache
