"""fundraiser: reader fundraising for an independent news site."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from fundraiser.config import PROJECT_ROOT, build_config, check_production_config
from fundraiser.observability import init_observability


def create_app(config: Mapping | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, CLI and error pages."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(build_config())
    if config:
        app.config.update(config)
    check_production_config(app.config)
    app.config.setdefault("BUILD_ID", _build_id())
    _prepare_instance(app)

    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    init_observability(app)
    from fundraiser.security import CacheFriendlySessionInterface, register_security_headers

    register_security_headers(app)
    app.session_interface = CacheFriendlySessionInterface()
    from fundraiser.shared_responses import SharedResponses

    app.wsgi_app = SharedResponses(app, app.wsgi_app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _build_id() -> str:
    """A fingerprint of templates and static files, so ETags change when the page's code does."""
    digest = hashlib.sha256()
    for folder in ("templates", "static"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(str(path.stat().st_mtime_ns).encode())
    return digest.hexdigest()[:12]


def _prepare_instance(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)


def register_extensions(app: Flask) -> None:
    from fundraiser.database_routing import configure_replica
    from fundraiser.extensions import babel, csrf, db, limiter, login_manager, migrate
    from fundraiser.i18n import current_language

    db.init_app(app)
    configure_replica(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=current_language,
        default_translation_directories=str(PROJECT_ROOT / "translations"),
    )
    limiter.init_app(app)
    # The proxy (not the loaded user) goes into templates: pages that never show the user
    # never touch the session, so the cacheable landing page gets no Vary: Cookie.
    login_manager.init_app(app, add_context_processor=False)
    from flask_login import current_user

    app.context_processor(lambda: {"current_user": current_user})
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"
    import fundraiser.accounts.sessions  # noqa: F401 - registers the user loader

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)


def _tune_sqlite(app: Flask) -> None:
    from sqlalchemy import event

    from fundraiser.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection, _record):
        # WAL lets the webhook writer and page readers work at once; busy_timeout waits for locks.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    """Each feature registers its blueprint (and any hooks or CLI of its own)."""
    from fundraiser.accounts import views as accounts
    from fundraiser.campaigns.views import bp as campaigns_bp
    from fundraiser.dashboard import views as dashboard
    from fundraiser.donations import views as donations
    from fundraiser.patreon.views import bp as patreon_bp
    from fundraiser.payments.webhooks import bp as stripe_webhook_bp
    from fundraiser.paypal.views import bp as paypal_bp

    app.register_blueprint(campaigns_bp)
    app.register_blueprint(stripe_webhook_bp)
    app.register_blueprint(paypal_bp)
    app.register_blueprint(patreon_bp)
    for feature in (donations, accounts, dashboard):
        feature.register(app)
    from fundraiser.i18n import localize_routes

    localize_routes(app)  # /de/, /de/campaigns/<slug>, /de/donate…: after every route exists


def register_cli(app: Flask) -> None:
    from fundraiser.campaigns.cli import campaign_cli
    from fundraiser.jobs import worker_command
    from fundraiser.patreon.cli import patreon_cli
    from fundraiser.payments.cli import stripe_cli
    from fundraiser.payments.ledger_cli import ledger_cli
    from fundraiser.paypal.cli import paypal_cli
    from fundraiser.rates import rates_cli

    app.cli.add_command(campaign_cli)
    app.cli.add_command(stripe_cli)
    app.cli.add_command(paypal_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(patreon_cli)
    app.cli.add_command(rates_cli)
    app.cli.add_command(worker_command)


def register_errorhandlers(app: Flask) -> None:
    from fundraiser.errors import register_errorhandlers as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from fundraiser.assets import init_assets
    from fundraiser.campaigns.content import render_markdown
    from fundraiser.i18n import plural_labels
    from fundraiser.money import format_money, major_units_text

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.globals["major_units"] = major_units_text
    from fundraiser.i18n import register_language_filters

    register_language_filters(app)  # long_date, medium_date, month_year: Babel, per language
    app.jinja_env.globals["plural_labels"] = plural_labels
    from fundraiser.accounts.status_words import gift_status_word, pledge_status_word

    app.jinja_env.globals["gift_status_word"] = gift_status_word
    app.jinja_env.globals["pledge_status_word"] = pledge_status_word
    init_assets(app)
    logging.basicConfig(level=logging.INFO)
