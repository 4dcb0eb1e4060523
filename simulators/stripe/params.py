"""Decoding of Stripe's form-encoded parameters, validation helpers and Stripe-shaped errors."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_KEY_PART = re.compile(r"\[([^\]]*)\]")

# Stripe's minimum charge amounts (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts),
# in minor units; other supported currencies fall back to 50 (≈ the usual 0.50 floor).
MINIMUM_AMOUNTS = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
CURRENCIES = frozenset(MINIMUM_AMOUNTS) | frozenset(
    [
        "afn",
        "all",
        "amd",
        "ang",
        "aoa",
        "ars",
        "awg",
        "azn",
        "bam",
        "bbd",
        "bdt",
        "bif",
        "bmd",
        "bnd",
        "bob",
        "bsd",
        "bwp",
        "byn",
        "bzd",
        "cdf",
        "clp",
        "cny",
        "cop",
        "crc",
        "cve",
        "djf",
        "dop",
        "dzd",
        "egp",
        "etb",
        "fjd",
        "fkp",
        "gel",
        "gip",
        "gmd",
        "gnf",
        "gtq",
        "gyd",
        "hnl",
        "htg",
        "idr",
        "ils",
        "isk",
        "jmd",
        "kes",
        "kgs",
        "khr",
        "kmf",
        "krw",
        "kyd",
        "kzt",
        "lak",
        "lbp",
        "lkr",
        "lrd",
        "lsl",
        "mad",
        "mdl",
        "mga",
        "mkd",
        "mmk",
        "mnt",
        "mop",
        "mur",
        "mvr",
        "mwk",
        "mzn",
        "nad",
        "ngn",
        "nio",
        "npr",
        "pab",
        "pen",
        "pgk",
        "php",
        "pkr",
        "pyg",
        "qar",
        "rsd",
        "rub",
        "rwf",
        "sar",
        "sbd",
        "scr",
        "shp",
        "sle",
        "sos",
        "srd",
        "std",
        "szl",
        "tjs",
        "top",
        "try",
        "ttd",
        "twd",
        "tzs",
        "uah",
        "ugx",
        "uyu",
        "uzs",
        "vnd",
        "vuv",
        "wst",
        "xaf",
        "xcd",
        "xof",
        "xpf",
        "yer",
        "zar",
        "zmw",
    ]
)
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
MAXIMUM_AMOUNT = 99_999_999


class StripeError(Exception):
    """An error answered in Stripe's shape: ``{"error": {...}}`` with an HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"type": type, "message": message}
        if code:
            self.body["code"] = code
            self.body["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param:
            self.body["param"] = param
        self.body.update(extra or {})

    def payload(self, request_id: str) -> dict[str, Any]:
        body = dict(self.body)
        body["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": body}


def not_found(kind: str, obj_id: str, param: str = "id") -> StripeError:
    return StripeError(
        f"No such {kind}: '{obj_id}'", status=404, code="resource_missing", param=param
    )


def missing(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def invalid(param: str, message: str, code: str = "parameter_invalid_string") -> StripeError:
    return StripeError(message, code=code, param=param)


# -- decoding -------------------------------------------------------------------------------


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn ``a[b][0][c]=v`` pairs into nested dicts, with index-keyed dicts made into lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + (_KEY_PART.findall("[" + rest) if rest else [])
        node = root
        for depth, part in enumerate(parts):
            if part == "":
                # `a[]=x` appends: give it the next free index.
                part = str(len(node))
            if depth == len(parts) - 1:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = node[part] = {}
                node = child
    return _listify(root, None)


def _listify(node: Any, name: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value, key) for key, value in node.items()}
    # Metadata keys are free-form, so "0" there is a key, not an index.
    if name != "metadata" and converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def decode_query(query: str) -> dict[str, Any]:
    return decode_form(parse_qsl(query, keep_blank_values=True))


# -- typed access ---------------------------------------------------------------------------


def get_path(params: dict[str, Any], path: str) -> Any:
    """Fetch ``a.b.0.c`` style paths; None when absent."""
    node: Any = params
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def param_name(path: str) -> str:
    """``a.b.0`` → ``a[b][0]``, the way Stripe names parameters in errors."""
    head, *rest = path.split(".")
    return head + "".join(f"[{part}]" for part in rest)


def string(params: dict[str, Any], path: str, required: bool = False) -> str | None:
    value = get_path(params, path)
    if value is None or value == "":
        if required:
            raise missing(param_name(path))
        return None
    if not isinstance(value, str):
        raise invalid(param_name(path), f"Invalid string: {value!r}")
    return value


def integer(params: dict[str, Any], path: str, required: bool = False) -> int | None:
    raw = string(params, path, required)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid(
            param_name(path), f"Invalid integer: {raw}", code="parameter_invalid_integer"
        ) from None


def boolean(params: dict[str, Any], path: str) -> bool | None:
    raw = string(params, path)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise invalid(param_name(path), f"Invalid boolean: {raw}")
    return raw == "true"


def dictionary(params: dict[str, Any], path: str) -> dict[str, Any] | None:
    value = get_path(params, path)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise invalid(param_name(path), f"Invalid object for {param_name(path)}")
    return value


def choice(params: dict[str, Any], path: str, allowed: tuple[str, ...], required: bool = False):
    value = string(params, path, required)
    if value is not None and value not in allowed:
        raise invalid(
            param_name(path),
            f"Invalid {param_name(path)}: must be one of {', '.join(allowed)}",
            code="parameter_invalid_string" if required else "parameter_unknown",
        )
    return value


def metadata(params: dict[str, Any], path: str = "metadata") -> dict[str, str]:
    value = get_path(params, path)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(param_name(path), "Invalid metadata: must be a hash of string values")
    if len(value) > 50:
        raise invalid(param_name(path), "Metadata can have at most 50 keys")
    return {k: v for k, v in value.items() if v != ""}


def merge_metadata(current: dict[str, str], update: Any) -> dict[str, str]:
    """Stripe's update semantics: empty string unsets a key, ``metadata=`` clears all."""
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise invalid("metadata", "Invalid metadata: must be a hash of string values")
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged


def currency(params: dict[str, Any], path: str, required: bool = True) -> str | None:
    value = string(params, path, required)
    if value is None:
        return None
    if value.lower() not in CURRENCIES:
        raise invalid(
            param_name(path),
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
            code="invalid_currency",
        )
    return value.lower()


def format_amount(amount: int, currency_: str) -> str:
    if currency_ in ZERO_DECIMAL:
        return f"{amount:,} {currency_.upper()}"
    symbol = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}.get(currency_)
    text = f"{amount / 100:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency_.upper()}"


def amount(params: dict[str, Any], path: str, currency_: str, floor: bool = True) -> int:
    """A charge amount in minor units, validated against Stripe's minimum and maximum."""
    value = integer(params, path, required=True)
    assert value is not None
    name = param_name(path)
    if value < 0:
        raise invalid(
            name, "This value must be greater than or equal to 0.", "parameter_invalid_integer"
        )
    minimum = MINIMUM_AMOUNTS.get(currency_, 50) if floor else 1
    if value < minimum:
        raise StripeError(
            f"The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency_)} {currency_}",
            code="amount_too_small",
            param=name,
        )
    if value > MAXIMUM_AMOUNT:
        raise StripeError(
            f"Amount must be no more than {format_amount(MAXIMUM_AMOUNT, currency_)}",
            code="amount_too_large",
            param=name,
        )
    return value


def expand_paths(params: dict[str, Any]) -> list[str]:
    value = params.get("expand")
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise invalid("expand", "Invalid array for expand")
