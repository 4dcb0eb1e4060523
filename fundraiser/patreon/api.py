"""Patreon's API v2, read only: the campaign's members, page by page (cursor pagination),
waiting out a 429 as its Retry-After asks."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

from flask import current_app

MEMBER_FIELDS = (
    "currently_entitled_amount_cents,email,full_name,patron_status,pledge_cadence,"
    "next_charge_date,last_charge_date,last_charge_status,lifetime_support_cents"
)
#: Waits for one 429 at most this long, and at most this many times in a row.
MAX_WAIT_SECONDS = 60
MAX_RATE_LIMITED = 5


class PatreonUnavailable(RuntimeError):
    """Patreon could not be asked (or refused): the reason, for the operator."""


def members(sleep: Callable[[float], None] = time.sleep) -> Iterator[dict]:
    """Every member resource of PATREON_CAMPAIGN_ID."""
    config = current_app.config
    if not config.get("PATREON_ACCESS_TOKEN") or not config.get("PATREON_CAMPAIGN_ID"):
        raise PatreonUnavailable("PATREON_ACCESS_TOKEN and PATREON_CAMPAIGN_ID must be set.")
    base = config["PATREON_API_BASE"].rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise PatreonUnavailable(f"PATREON_API_BASE {base!r} is not an http(s) address.")
    query = {"fields[member]": MEMBER_FIELDS, "page[count]": "100"}
    cursor = None
    while True:
        page_query = {**query, **({"page[cursor]": cursor} if cursor else {})}
        url = f"{base}/campaigns/{config['PATREON_CAMPAIGN_ID']}/members?{urlencode(page_query)}"
        page = _get(url, config["PATREON_ACCESS_TOKEN"], sleep)
        yield from page.get("data") or []
        cursors = ((page.get("meta") or {}).get("pagination") or {}).get("cursors") or {}
        cursor = cursors.get("next")
        if not cursor:
            return


def _get(url: str, token: str, sleep: Callable[[float], None]) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in members()
        url, headers={"Authorization": f"Bearer {token}", "User-Agent": "fundraiser-sync/1"}
    )
    for _ in range(MAX_RATE_LIMITED + 1):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise PatreonUnavailable(f"Patreon answered {error.code} for {url}") from None
            wait = error.headers.get("Retry-After") or "1"
            sleep(min(float(wait) if wait.replace(".", "", 1).isdigit() else 1.0, MAX_WAIT_SECONDS))
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PatreonUnavailable(f"Patreon could not be asked: {error}") from None
    raise PatreonUnavailable("Patreon kept answering 429 (rate limited); try again later.")
