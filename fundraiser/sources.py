"""Where a request comes from, for counting: keyed digests of its address and network."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass

from flask import current_app
from limits.storage import Storage, storage_from_string

log = logging.getLogger(__name__)
#: The name predates this module (the card-testing defence was its first user); tests reset it.
_COUNTERS = "fundraiser_abuse_storage"

#: A network is an IPv4 /24 or an IPv6 /48: what one customer of a provider usually holds.
IPV4_NETWORK_PREFIX = 24
IPV6_NETWORK_PREFIX = 48
#: One IPv6 host usually has a whole /64 to itself, so that is its "address".
IPV6_HOST_PREFIX = 64


@dataclass(frozen=True)
class Source:
    """Digests, never the address itself: counters in Redis and rows in the database that
    outlive the request must not become a log of readers' addresses."""

    address: str
    network: str


def _digest(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]


def source_of(remote_addr: str | None) -> Source:
    """The source of a request from `remote_addr` (anything unparsable is one source)."""
    try:
        ip = ipaddress.ip_address((remote_addr or "").strip())
    except ValueError:
        text = (remote_addr or "unknown")[:100]
        return Source(_digest("address", text), _digest("network", text))
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.version == 4:
        host, network = ip.exploded, ipaddress.ip_network(f"{ip}/{IPV4_NETWORK_PREFIX}", False)
    else:
        host = str(ipaddress.ip_network(f"{ip}/{IPV6_HOST_PREFIX}", False))
        network = ipaddress.ip_network(f"{ip}/{IPV6_NETWORK_PREFIX}", False)
    return Source(_digest("address", host), _digest("network", str(network)))


def counters() -> Storage:
    """Shared counters with expiry: Redis when configured, so every worker sees the same."""
    app = current_app
    if _COUNTERS not in app.extensions:
        uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        try:
            app.extensions[_COUNTERS] = storage_from_string(uri)
        except Exception:  # noqa: BLE001 - a broken Redis URL must not stop donations
            log.warning("abuse counters fall back to memory")
            app.extensions[_COUNTERS] = storage_from_string("memory://")
    return app.extensions[_COUNTERS]


def first_time(key: str, seconds: int) -> bool:
    """Whether `key` is new in the last `seconds` (True when the counters are unreachable)."""
    try:
        return counters().incr(f"once:{key}", seconds) == 1
    except Exception:  # noqa: BLE001 - counting is advisory; without Redis, count everything
        return True
