"""Instant Payment Notifications: read a message in its own charset, verify it by posting it
back to PAYPAL_IPN_VERIFY_URL, and check it was sent to our account."""

from __future__ import annotations

import codecs
import logging
import urllib.error
import urllib.request
from urllib.parse import parse_qsl

from flask import current_app

log = logging.getLogger(__name__)

VERIFY_PREFIX = b"cmd=_notify-validate&"
#: A message is a few kilobytes; anything longer is not PayPal's.
MAX_MESSAGE_BYTES = 64 * 1024


class MalformedMessage(ValueError):
    """Not an IPN message we can read."""


class VerificationUnavailable(RuntimeError):
    """The verification address could not be reached: PayPal must send the message again."""


def parse(raw: bytes) -> dict[str, str]:
    """The message's fields, decoded in the charset it names (windows-1252 by default)."""
    if not raw or len(raw) > MAX_MESSAGE_BYTES:
        raise MalformedMessage("empty or oversized message")
    try:
        text = raw.decode("ascii")  # form encoding: anything else is percent-escaped
    except UnicodeDecodeError:
        raise MalformedMessage("raw bytes outside ASCII") from None
    try:
        first = dict(parse_qsl(text, encoding="latin-1", max_num_fields=400))
    except ValueError as error:  # too many fields
        raise MalformedMessage(str(error)) from None
    # PayPal names the charset of the merchant's settings (windows-1252 unless changed; its
    # own IPN simulator leaves it out). Only text encodings: "base64", "zlib", "rot13"… are
    # codecs too, and one of those would fail deep inside the decoding.
    charset = (first.get("charset") or "windows-1252").strip()
    try:
        codec = codecs.lookup(charset)
    except LookupError:
        raise MalformedMessage(f"unknown charset {charset[:40]!r}") from None
    if not getattr(codec, "_is_text_encoding", True) or codec.name == "undefined":
        raise MalformedMessage(f"charset {charset[:40]!r} is not a text encoding")
    try:
        fields = dict(parse_qsl(text, encoding=charset, errors="strict", max_num_fields=400))
    except (UnicodeError, LookupError, ValueError) as error:
        raise MalformedMessage(str(error)[:200]) from None
    if any("\x00" in key or "\x00" in value for key, value in fields.items()):
        raise MalformedMessage("NUL in a field")
    return fields


def verify(raw: bytes) -> bool:
    """True only when PayPal (the configured address, never the message's) answers
    VERIFIED to the unaltered message; VerificationUnavailable when it can't be asked."""
    url = current_app.config["PAYPAL_IPN_VERIFY_URL"]
    if not url.startswith(("https://", "http://")):
        raise VerificationUnavailable(f"PAYPAL_IPN_VERIFY_URL {url!r} is not an http(s) address")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=VERIFY_PREFIX + raw,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "fundraiser-ipn/1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer = response.read(64)
    except (urllib.error.URLError, OSError) as error:
        raise VerificationUnavailable(str(error)) from error
    return answer.strip() == b"VERIFIED"


def sent_to_us(fields: dict[str, str]) -> bool:
    """The message names our account by receiver_email or receiver_id."""
    config = current_app.config
    email = (config.get("PAYPAL_RECEIVER_EMAIL") or "").strip().lower()
    receiver_id = (config.get("PAYPAL_RECEIVER_ID") or "").strip()
    their_email = (fields.get("receiver_email") or fields.get("business") or "").strip().lower()
    their_id = (fields.get("receiver_id") or "").strip()
    return bool((email and their_email == email) or (receiver_id and their_id == receiver_id))
