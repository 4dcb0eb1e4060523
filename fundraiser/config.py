"""Configuration read from the environment: the one module that touches os.environ."""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# Values that must never be accepted as a production secret.
INSECURE_SECRET_KEYS = {"", "dev", "change-me", "dev-insecure-key"}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def _env_bool(name: str, default: bool = False) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return default if value is None else int(value)


def sqlalchemy_url(url: str) -> str:
    """Point plain postgres URLs at psycopg 3, the driver we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_production() -> bool:
    return (_env("APP_ENV") or _env("FLASK_ENV") or "").lower() == "production"


class ConfigError(RuntimeError):
    """Raised when the service must not start with the configuration it was given."""


def build_config() -> dict:
    """Read every setting from the environment (and .env) into a plain mapping."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    production = is_production()
    database_url = _env("DATABASE_URL")
    sqlite_default = f"sqlite:///{INSTANCE_DIR / 'fundraiser.sqlite3'}"
    stripe_secret = _env("STRIPE_SECRET_KEY")
    # PayPal demo mode: no receiver configured (and not production) means the bundled
    # PayPal stand-in (`flask paypal simulator`) is the donate page and the verifier.
    paypal_receiver = _env("PAYPAL_RECEIVER_EMAIL") or _env("PAYPAL_RECEIVER_ID")
    paypal_demo = paypal_receiver is None and not production
    paypal_simulator = (_env("PAYPAL_SIMULATOR_URL", "http://127.0.0.1:12112") or "").rstrip("/")
    patreon_token = _env("PATREON_ACCESS_TOKEN")
    patreon_simulator = (_env("PATREON_SIMULATOR_URL", "http://127.0.0.1:12113") or "").rstrip("/")
    patreon_demo = patreon_token is None and not production
    return {
        "PRODUCTION": production,
        "SECRET_KEY": _env("SECRET_KEY", None if production else "dev-insecure-key"),
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(database_url or sqlite_default),
        "DATABASE_REPLICA_URL": _env("DATABASE_REPLICA_URL"),
        "REDIS_URL": _env("REDIS_URL"),
        # "queue": the webhook records each event and an RQ worker applies it; "inline": the
        # webhook applies it before answering. Unset: "queue" when REDIS_URL is set.
        "WEBHOOK_APPLY": _env("WEBHOOK_APPLY"),
        "BASE_URL": (_env("BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/"),
        "PROXY_FIX_HOPS": _env_int("PROXY_FIX_HOPS", 0),
        "PAYPAL_DONATE_URL": _env(
            "PAYPAL_DONATE_URL", "https://www.paypal.com/donate/?hosted_button_id=EXAMPLE"
        ),
        "PAYPAL_DEMO_MODE": paypal_demo,
        "PAYPAL_SIMULATOR_URL": paypal_simulator,
        # Where IPN messages are posted back for verification: PayPal's live address unless
        # configured (the sandbox's), or the stand-in's in demo mode. Never from the message.
        "PAYPAL_IPN_VERIFY_URL": _env(
            "PAYPAL_IPN_VERIFY_URL",
            f"{paypal_simulator}/cgi-bin/webscr"
            if paypal_demo
            else "https://ipnpb.paypal.com/cgi-bin/webscr",
        ),
        "PAYPAL_RECEIVER_EMAIL": _env(
            "PAYPAL_RECEIVER_EMAIL", "donations@paypal-simulator.test" if paypal_demo else None
        ),
        "PAYPAL_RECEIVER_ID": _env("PAYPAL_RECEIVER_ID"),
        # Patreon: demo mode (no access token, not production) uses the bundled stand-in.
        "PATREON_DEMO_MODE": patreon_demo,
        "PATREON_SIMULATOR_URL": patreon_simulator,
        "PATREON_WEBHOOK_SECRET": _env(
            "PATREON_WEBHOOK_SECRET", "patreon-simulator-secret" if patreon_demo else None
        ),
        "PATREON_ACCESS_TOKEN": patreon_token
        or ("patreon-simulator-token" if patreon_demo else None),
        "PATREON_CAMPAIGN_ID": _env("PATREON_CAMPAIGN_ID", "1000" if patreon_demo else None),
        "PATREON_API_BASE": _env(
            "PATREON_API_BASE",
            f"{patreon_simulator}/api/oauth2/v2"
            if patreon_demo
            else "https://www.patreon.com/api/oauth2/v2",
        ),
        # Patreon's amounts are in the creator's currency; unset: the default campaign's.
        "PATREON_CURRENCY": (_env("PATREON_CURRENCY") or "").strip().upper() or None,
        "PATREON_URL": _env("PATREON_URL", "https://www.patreon.com/socialistworld"),
        # Demo mode: no real key means the bundled Stripe simulator on loopback.
        "STRIPE_DEMO_MODE": stripe_secret is None,
        "STRIPE_SECRET_KEY": stripe_secret or "sk_test_simulator",
        "STRIPE_PUBLISHABLE_KEY": _env("STRIPE_PUBLISHABLE_KEY", "pk_test_simulator"),
        "STRIPE_WEBHOOK_SECRET": _env(
            "STRIPE_WEBHOOK_SECRET", None if production else "whsec_simulator"
        ),
        "STRIPE_API_BASE": _env(
            "STRIPE_API_BASE", None if stripe_secret else "http://127.0.0.1:12111"
        ),
        "STRIPE_WEBHOOK_URL": _env("STRIPE_WEBHOOK_URL", "http://127.0.0.1:5000/stripe/webhook"),
        "STRIPE_TIMEOUT_SECONDS": _env_int("STRIPE_TIMEOUT_SECONDS", 10),
        "STRIPE_MAX_RETRIES": _env_int("STRIPE_MAX_RETRIES", 2),
        "DONATION_MAX_MAJOR": _env_int("DONATION_MAX_MAJOR", 10_000),
        "DONATION_CURRENCIES": (_env("DONATION_CURRENCIES", "EUR,GBP,USD") or "").split(","),
        # The Stripe account's settlement currency: the dashboard's combined figure is in it,
        # and the simulator settles every charge in it.
        "SETTLEMENT_CURRENCY": (_env("SETTLEMENT_CURRENCY", "GBP") or "GBP").strip().upper(),
        "REPORTING_TIMEZONE": _env("REPORTING_TIMEZONE", "Europe/London"),
        # How long the dashboard overview's distinct-donor counts are reused (shared cache).
        "OVERVIEW_CACHE_SECONDS": _env_int("OVERVIEW_CACHE_SECONDS", 60),
        "MAIL_SERVER": _env("MAIL_SERVER"),
        "MAIL_PORT": _env_int("MAIL_PORT", 587),
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS", True),
        "MAIL_FROM": _env("MAIL_FROM", "Socialist World <donations@socialistworld.net>"),
        "MAIL_OUTBOX": _env("MAIL_OUTBOX", str(INSTANCE_DIR / "outbox")),
        # Campaign photos, resized and fingerprinted; served at /media/ (by nginx in production).
        "MEDIA_DIR": _env("MEDIA_DIR", str(INSTANCE_DIR / "media")),
        # Origins whose pages may frame /embed/<slug> (space or comma separated).
        "EMBED_ALLOWED_ORIGINS": [
            o.strip().rstrip("/")
            for o in (_env("EMBED_ALLOWED_ORIGINS", "") or "").replace(",", " ").split()
        ],
        # Staff mail: the weekly summary and large-gift alerts go to these (comma-separated);
        # an alert is sent for a gift above LARGE_GIFT_ALERT ("500" or "EUR:500,GBP:400").
        "STAFF_REPORT_EMAILS": _env("STAFF_REPORT_EMAILS", ""),
        "LARGE_GIFT_ALERT": _env("LARGE_GIFT_ALERT", ""),
        "RATELIMIT_STORAGE_URI": _env("REDIS_URL", "memory://"),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "SENTRY_DSN": _env("SENTRY_DSN"),
        "SENTRY_TRACES_SAMPLE_RATE": float(_env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
        # Observability: LOG_FORMAT=text for plain lines; /metrics answers a matching
        # `Authorization: Bearer METRICS_TOKEN`, or direct loopback requests unless disabled.
        "LOG_FORMAT": _env("LOG_FORMAT", "json"),
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        "METRICS_ALLOW_LOOPBACK": _env_bool("METRICS_ALLOW_LOOPBACK", True),
        # Set for gunicorn with several workers (an emptied folder): metrics are summed over all.
        "PROMETHEUS_MULTIPROC_DIR": _env("PROMETHEUS_MULTIPROC_DIR"),
        "LANDING_MAX_AGE": _env_int("LANDING_MAX_AGE", 30),
        "TOTALS_MAX_AGE": _env_int("TOTALS_MAX_AGE", 5),
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 256 * 1024),
        # A staff sign-in ends after this many minutes without a request.
        "STAFF_IDLE_MINUTES": _env_int("STAFF_IDLE_MINUTES", 30),
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
    }


def check_production_config(config: dict) -> None:
    """Refuse to start in production with a missing or placeholder secret, naming it."""
    if not config.get("PRODUCTION"):
        return
    missing = []
    if (config.get("SECRET_KEY") or "") in INSECURE_SECRET_KEYS or len(config["SECRET_KEY"]) < 32:
        missing.append("SECRET_KEY (at least 32 random characters)")
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        missing.append("DATABASE_URL (PostgreSQL in production)")
    if config.get("STRIPE_DEMO_MODE"):
        missing.append("STRIPE_SECRET_KEY")
    if not config.get("STRIPE_WEBHOOK_SECRET"):
        missing.append("STRIPE_WEBHOOK_SECRET")
    if missing:
        raise ConfigError("Refusing to start in production without: " + ", ".join(missing))
