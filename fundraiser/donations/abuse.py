"""Card-testing defence: friction for the sources that behave like card testers, nobody else.

Card testers push many small or failing checkouts. We score each *source* of checkouts, an
address and its network (IPv4 /24, IPv6 /48; see fundraiser.sources), from shared counters
(Redis when configured, so every worker sees the same picture): checkout attempts, small
ones, and declines Stripe reports for sessions that source opened. A source over its
thresholds must solve a proof of work for each checkout, harder the more it pushes. Nobody is
locked out: a donor behind the same NAT as a tester solves the same puzzle in a second or
two and gives. Everyone else goes straight to checkout.

Only evidence an attacker cannot make without cards, declines reported by Stripe from many
networks at once, switches the proof of work on for every source (a distributed attack);
unpaid checkouts alone never do, so nobody can degrade other donors' path for free.
A honeypot field catches the simplest bots at all times. No third-party captcha: nothing
about the reader leaves our servers.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from fundraiser import audit
from fundraiser.extensions import db
from fundraiser.sources import Source, counters, first_time, source_of

log = logging.getLogger(__name__)

WINDOW_SECONDS = 600
HONEYPOT_FIELD = "website"


@dataclass(frozen=True)
class Thresholds:
    """Counts over the current and the previous window (10-20 minutes)."""

    #: Checkout attempts from one address before it gets the proof of work.
    per_address: int = 8
    #: Small checkouts (at most `small_minor`) from one address before it does.
    small_per_address: int = 3
    #: Declines Stripe reports for one address's checkouts before it does.
    declines_per_address: int = 2
    #: The same for a whole network (many addresses of one tester, or a busy NAT).
    per_network: int = 40
    small_per_network: int = 10
    declines_per_network: int = 3
    small_minor: int = 300
    #: A distributed attack: this many declines in all, from at least this many networks,
    #: puts every checkout behind the proof of work until they stop.
    declines: int = 15
    decline_networks: int = 5
    #: Leading zero bits the proof of work needs (about 16k hashes) ...
    difficulty: int = 14
    #: ... plus one bit (twice the work) each time a source doubles its attempts past its
    #: threshold, up to this many: pushing harder costs a tester more, a donor a second more.
    max_extra_difficulty: int = 4


def thresholds() -> Thresholds:
    return current_app.config.get("ABUSE_THRESHOLDS") or Thresholds()


def _window(offset: int = 0) -> int:
    return int(time.time()) // WINDOW_SECONDS - offset


def _bump(name: str) -> tuple[int, int]:
    """Count one in this window; returns (this window's count, plus the last one's)."""
    try:
        storage = counters()
        current = storage.incr(f"abuse:{name}:{_window()}", WINDOW_SECONDS * 2)
        return current, current + int(storage.get(f"abuse:{name}:{_window(1)}") or 0)
    except Exception:  # noqa: BLE001 - counters are advisory; Redis down means no friction
        return 0, 0


def _read(name: str) -> int:
    try:
        storage = counters()
        return sum(int(storage.get(f"abuse:{name}:{_window(i)}") or 0) for i in (0, 1))
    except Exception:  # noqa: BLE001
        return 0


# --- What we count ----------------------------------------------------------------------


def note_checkout_attempt(source: Source, amount_minor: int) -> None:
    small = amount_minor <= thresholds().small_minor
    for key in (f"address:{source.address}", f"network:{source.network}"):
        _bump(f"attempts:{key}")
        if small:
            _bump(f"small:{key}")


def source_tag(remote_addr: str | None) -> str:
    """What a donation intent keeps of where it came from, so a later decline counts there."""
    source = source_of(remote_addr)
    return f"{source.address}:{source.network}"


def _source_of_intent(public_id: str | None) -> Source | None:
    from fundraiser.models import DonationIntent

    if not public_id:
        return None
    tag = db.session.scalar(
        select(DonationIntent.source).where(DonationIntent.public_id == public_id)
    )
    address, _, network = (tag or "").partition(":")
    return Source(address, network) if address and network else None


def note_decline(payment_intent_id: str, donation_intent: str | None = None) -> None:
    """After-commit receiver of `payment_declined` (payments.after_commit): count the decline
    for the source of the donation intent it belongs to, and overall."""
    source = _source_of_intent(donation_intent)
    if source is not None:
        _bump(f"declines:address:{source.address}")
        first_from_network, _ = _bump(f"declines:network:{source.network}")
        if first_from_network == 1:
            _bump("decline_networks")
    _bump("declines")
    if under_attack() and first_time(f"abuse:attack:{_window()}", WINDOW_SECONDS):
        log.warning("card-testing defence on for everyone: declines from many networks")
        audit.record("system:abuse", "abuse.attack_started", "declines from many networks")
        db.session.commit()


# --- What we decide ---------------------------------------------------------------------


def under_attack() -> bool:
    """A distributed attack: many declines from many networks (unpaid checkouts never count)."""
    limits = thresholds()
    return (
        _read("declines") >= limits.declines
        and _read("decline_networks") >= limits.decline_networks
    )


def _extra_bits(count: int, threshold: int) -> int:
    """0 below twice the threshold, then one more for each doubling."""
    return max(0, (count // max(1, threshold)).bit_length() - 1)


def required_difficulty(source: Source) -> int | None:
    """The proof of work this source must show for a checkout now, or None (no friction)."""
    limits = thresholds()
    address, network = f"address:{source.address}", f"network:{source.network}"
    scores = [
        (_read(f"attempts:{address}"), limits.per_address),
        (_read(f"small:{address}"), limits.small_per_address),
        (_read(f"declines:{address}"), limits.declines_per_address),
        (_read(f"attempts:{network}"), limits.per_network),
        (_read(f"small:{network}"), limits.small_per_network),
        (_read(f"declines:{network}"), limits.declines_per_network),
    ]
    over = [_extra_bits(count, threshold) for count, threshold in scores if count >= threshold]
    if not over and not under_attack():
        return None
    return limits.difficulty + min(limits.max_extra_difficulty, max(over, default=0))


def gate(
    remote_addr: str, amount_minor: int, honeypot: str, challenge: str, solution: str
) -> tuple[str, int | None]:
    """Decide a checkout attempt: ("ok", None), ("challenge", difficulty) or ("bot", None).

    There is no lockout: a source that keeps pushing gets ever harder puzzles (up to a few
    seconds of a browser's work), so a donor who shares its address can still give.
    """
    if honeypot:
        log.warning("donation honeypot filled")
        return "bot", None
    source = source_of(remote_addr)
    note_checkout_attempt(source, amount_minor)
    difficulty = required_difficulty(source)
    if difficulty is None or check_proof(challenge, solution):
        return "ok", None
    return "challenge", difficulty


# --- Proof of work --------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="donation-proof-of-work")


def new_challenge(difficulty: int | None = None) -> dict:
    difficulty = difficulty or thresholds().difficulty
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
    """A fresh challenge of ours, solved, and never used before.

    Any challenge we issued will do, even if the source's puzzle got harder since: the
    harder one was what we asked of it, and each proof buys a single checkout.
    """
    try:
        data = _serializer().loads(challenge, max_age=WINDOW_SECONDS)
        counter = int(solution)
        wanted = int(data.get("d", 0))
    except (BadSignature, SignatureExpired, ValueError, TypeError, AttributeError):
        return False
    digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
    if wanted < thresholds().difficulty or leading_zero_bits(digest) < wanted:
        return False
    try:
        return counters().incr(f"abuse:pow:{data['n']}", WINDOW_SECONDS) == 1
    except Exception:  # noqa: BLE001 - without shared storage a solved proof still counts
        return True
