"""Card-testing defence: friction only while an attack lasts, nothing for ordinary donors.

Card testers push many small or failing checkouts, from one address or from many at once.
We count checkout attempts and declines in shared counters (Redis when configured, so every
worker sees the same picture). Past a threshold the service is "under attack" for a while:
each checkout then needs a proof of work, solved by the browser in about a second, and one
address gets only a few tries. A honeypot field catches the simplest bots at all times.
No third-party captcha: nothing about the reader leaves our servers.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from limits.storage import Storage, storage_from_string

from fundraiser import audit
from fundraiser.extensions import db

log = logging.getLogger(__name__)

WINDOW_SECONDS = 600
HONEYPOT_FIELD = "website"
_STORAGE = "fundraiser_abuse_storage"


@dataclass(frozen=True)
class Thresholds:
    #: Checkout attempts from one address per window before it gets friction.
    per_address: int = 8
    #: Small gifts (at most `small_minor`) per window, across all addresses.
    small_gifts: int = 40
    small_minor: int = 300
    #: Declined payments per window, across all addresses.
    declines: int = 15
    #: Leading zero bits the proof of work needs (about 16k hashes).
    difficulty: int = 14
    #: Attempts one address gets per window while under attack.
    attack_per_address: int = 3


def thresholds() -> Thresholds:
    return current_app.config.get("ABUSE_THRESHOLDS") or Thresholds()


def _storage() -> Storage:
    app = current_app
    if _STORAGE not in app.extensions:
        uri = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
        try:
            app.extensions[_STORAGE] = storage_from_string(uri)
        except Exception:  # noqa: BLE001 - a broken Redis URL must not stop donations
            log.warning("abuse counters fall back to memory")
            app.extensions[_STORAGE] = storage_from_string("memory://")
    return app.extensions[_STORAGE]


def _window(offset: int = 0) -> int:
    return int(time.time()) // WINDOW_SECONDS - offset


def _bump(name: str) -> int:
    """Count one in this window; returns this window's count plus the last one's."""
    try:
        storage = _storage()
        current = storage.incr(f"abuse:{name}:{_window()}", WINDOW_SECONDS * 2)
        return current + int(storage.get(f"abuse:{name}:{_window(1)}") or 0)
    except Exception:  # noqa: BLE001 - counters are advisory; Redis down means no friction
        return 0


def _read(name: str) -> int:
    try:
        storage = _storage()
        return sum(int(storage.get(f"abuse:{name}:{_window(i)}") or 0) for i in (0, 1))
    except Exception:  # noqa: BLE001
        return 0


def under_attack() -> bool:
    limits = thresholds()
    return _read("small") >= limits.small_gifts or _read("declines") >= limits.declines


def _attack_started(reason: str) -> None:
    log.warning("card-testing defence on: %s", reason)
    audit.record("system:abuse", "abuse.attack_started", reason)


def note_checkout_attempt(address: str, amount_minor: int) -> int:
    """Count an attempt; returns how many this address made in the window."""
    limits = thresholds()
    if amount_minor <= limits.small_minor and _bump("small") == limits.small_gifts:
        _attack_started("many small checkouts")
    return _bump(f"address:{address}")


def note_decline(payment_intent_id: str) -> None:
    """After-commit receiver of `payment_declined` (payments.after_commit)."""
    if _bump("declines") == thresholds().declines:
        _attack_started("many declined payments")
        db.session.commit()


def gate(address: str, amount_minor: int, honeypot: str, challenge: str, solution: str) -> str:
    """Decide a checkout attempt: "ok", "challenge" (proof of work needed), "blocked", "bot"."""
    if honeypot:
        log.warning("donation honeypot filled from %s", address)
        return "bot"
    if over_attack_limit(address):
        log.warning("donation attempts blocked from %s during an attack", address)
        return "blocked"
    note_checkout_attempt(address, amount_minor)
    if needs_friction(address) and not check_proof(challenge, solution):
        return "challenge"
    return "ok"


def address_attempts(address: str) -> int:
    return _read(f"address:{address}")


def needs_friction(address: str) -> bool:
    limits = thresholds()
    return under_attack() or address_attempts(address) >= limits.per_address


def over_attack_limit(address: str) -> bool:
    return under_attack() and address_attempts(address) >= thresholds().attack_per_address


# --- Proof of work --------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="donation-proof-of-work")


def new_challenge() -> dict:
    difficulty = thresholds().difficulty
    token = _serializer().dumps({"n": secrets.token_hex(12), "d": difficulty})
    return {"challenge": token, "difficulty": difficulty}


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(challenge: str, difficulty: int) -> int:
    """What the browser does (static/js/challenge.js); used by tests and non-JS clients."""
    counter = 0
    while (
        leading_zero_bits(hashlib.sha256(f"{challenge}:{counter}".encode()).digest()) < difficulty
    ):
        counter += 1
    return counter


def check_proof(challenge: str, solution: str) -> bool:
    """A fresh challenge of ours, solved, and never used before."""
    try:
        data = _serializer().loads(challenge, max_age=WINDOW_SECONDS)
        counter = int(solution)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return False
    digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
    if leading_zero_bits(digest) < int(data.get("d", 0)):
        return False
    try:
        return _storage().incr(f"abuse:pow:{data['n']}", WINDOW_SECONDS) == 1
    except Exception:  # noqa: BLE001 - without shared storage a solved proof still counts
        return True
