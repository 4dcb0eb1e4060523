"""Preset amount ladders per frequency: what the form offers, with defaults when staff set none."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from fundraiser.models import Campaign, Frequency
from fundraiser.money import AmountError, check_donation_amount, decimals

#: A gentle ladder per frequency when staff set nothing: monthly asks are smaller.
DEFAULT_LADDERS: dict[str, tuple[int, ...]] = {
    Frequency.ONE_TIME.value: (10, 25, 50, 100, 250),
    Frequency.MONTHLY.value: (5, 10, 20, 35, 50),
    Frequency.YEARLY.value: (50, 100, 250, 500, 1000),
}
MAX_PRESETS = 5
MAX_IMPACT = 120


class PresetError(ValueError):
    """Presets staff asked for that the form cannot offer; the message says why."""


@dataclass(frozen=True)
class Preset:
    amount: int  # major units
    impact: str = ""

    def as_json(self) -> dict:
        return {"amount": self.amount, "impact": self.impact}


def ladder(campaign: Campaign, frequency: str) -> list[Preset]:
    """The presets offered for `frequency`, the campaign's own or the defaults."""
    own = (campaign.preset_ladders or {}).get(frequency)
    if own:
        return [Preset(int(p["amount"]), str(p.get("impact") or "")) for p in own]
    return [Preset(amount) for amount in DEFAULT_LADDERS.get(frequency, ())]


def ladders(campaign: Campaign) -> dict[str, list[dict]]:
    """Every frequency's ladder as plain data (for the page's script)."""
    return {f.value: [p.as_json() for p in ladder(campaign, f.value)] for f in Frequency}


def suggested(presets: list[Preset]) -> int | None:
    """The amount selected when the form opens: the second rung, a modest but real ask."""
    if not presets:
        return None
    return presets[min(1, len(presets) - 1)].amount


def gift_limits() -> tuple[tuple[str, ...], int]:
    """The currencies the form offers and the largest gift in major units (the app's config)."""
    config = current_app.config
    return tuple(config["DONATION_CURRENCIES"]), int(config["DONATION_MAX_MAJOR"])


def parse_amounts(amounts: str) -> list[int]:
    """ "20, 5,10" as ascending whole amounts the form can offer in every currency, or
    PresetError: each within the gift limits (Stripe's minimum, DONATION_MAX_MAJOR)."""
    try:
        values = [int(part) for part in amounts.replace(" ", "").split(",") if part]
    except ValueError as exc:
        raise PresetError("Presets are whole amounts separated by commas, like 5,10,20.") from exc
    if not values or len(values) > MAX_PRESETS or any(v <= 0 for v in values):
        raise PresetError(f"Give between 1 and {MAX_PRESETS} amounts, each more than zero.")
    if len(set(values)) != len(values):
        raise PresetError("Each preset amount may appear once.")
    currencies, maximum = gift_limits()
    for value in sorted(values):
        for currency in currencies:
            try:
                check_donation_amount(value * 10 ** decimals(currency), currency, maximum)
            except (AmountError, KeyError) as exc:
                raise PresetError(f"{value} {currency}: {exc}") from exc
    return sorted(values)


def plain_line(text: str) -> str:
    """An impact line as plain text on one line: controls dropped, spaces collapsed (the page
    escapes it; no Markdown or HTML is read)."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())


def parse_impacts(values: list[int], impacts: list[str]) -> list[dict]:
    """The ladder `values` with their impact lines ("10=Pays for …"), or PresetError."""
    lines: dict[int, str] = {}
    for item in impacts:
        if not item.strip():
            continue
        amount, sep, line = item.partition("=")
        try:
            key = int(amount.strip())
        except ValueError as exc:
            raise PresetError(f"An impact line is AMOUNT=TEXT, not {item!r}.") from exc
        if not sep:
            raise PresetError(f"An impact line is AMOUNT=TEXT, not {item!r}.")
        if key not in values:
            shown = ",".join(str(v) for v in values)
            raise PresetError(f"{key} is not one of the presets {shown}.")
        if key in lines:
            raise PresetError(f"{key} has two impact lines; keep one.")
        line = plain_line(line)
        if len(line) > MAX_IMPACT:
            raise PresetError(f"Keep each impact line under {MAX_IMPACT} characters.")
        lines[key] = line
    return [{"amount": v, "impact": lines.get(v, "")} for v in sorted(values)]


def parse_ladder(amounts: str, impacts: list[str]) -> list[dict]:
    """ "5,10,20" and ["10=Pays for …"] as stored ladder data, or PresetError."""
    return parse_impacts(parse_amounts(amounts), impacts)


def amounts_text(campaign: Campaign, frequency: str) -> str:
    """The campaign's own ladder as typed ("5, 10, 20"); "" when it uses the defaults."""
    own = (campaign.preset_ladders or {}).get(frequency) or []
    return ", ".join(str(p["amount"]) for p in own)


def impacts_text(campaign: Campaign, frequency: str) -> str:
    """The campaign's impact lines as typed, one "AMOUNT = TEXT" a line."""
    own = (campaign.preset_ladders or {}).get(frequency) or []
    return "\n".join(f"{p['amount']} = {p['impact']}" for p in own if p.get("impact"))


def set_ladder(campaign: Campaign, frequency: str, amounts: str, impacts: list[str]) -> None:
    """Store the ladder for one frequency; an empty `amounts` goes back to the defaults."""
    Frequency(frequency)
    stored = dict(campaign.preset_ladders or {})
    if amounts.strip():
        stored[frequency] = parse_ladder(amounts, impacts)
    else:
        stored.pop(frequency, None)
    # A new dict, so SQLAlchemy sees the JSON column change.
    campaign.preset_ladders = stored or None
    campaign.content_version = (campaign.content_version or 0) + 1


def set_default_frequency(campaign: Campaign, frequency: str) -> None:
    campaign.default_frequency = Frequency(frequency).value
    campaign.content_version = (campaign.content_version or 0) + 1
