"""Error pages in the site's look (HTML) or with a JSON reason (API and webhook paths)."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    ServiceUnavailable,
    default_exceptions,
)

from fundraiser.database import is_outage
from fundraiser.extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: _l("That request didn’t make sense"),
    403: _l("You can’t do that here"),
    404: _l("We couldn’t find that page"),
    405: _l("That isn’t allowed here"),
    413: _l("That was too much to send"),
    429: _l("Slow down a little"),
    500: _l("Something went wrong on our side"),
    503: _l("We’re briefly unavailable"),
}


#: Our own words where a view gave no reason of its own (never the framework's defaults).
DESCRIPTIONS = {
    400: _l("Something in that request wasn’t as we expected. Please go back and try again."),
    403: _l("This page isn’t open to you."),
    404: _l("The address may be mistyped, or the page has moved. The appeal is still here."),
    405: _l("That page can’t be used that way."),
    413: _l("That was more than we accept in one go. Please send something smaller."),
    429: _l("You’ve tried that a lot in a short time."),
    500: _l("It’s our fault, not yours, and we’ve been told. Please try again in a minute."),
    503: _l("We’re working on it. Please try again in a minute; nothing you sent was lost."),
}
GENERIC = _l("Something went wrong. Please go back and try again.")


def _framework_default(code: int, description: str | None) -> bool:
    known = default_exceptions.get(code)
    return description is None or (known is not None and description == known.description)


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/stripe/", "/healthz", "/metrics"))


def render_error(code: int, description: str | None = None):
    title = str(TITLES.get(code) or _("Something went wrong"))
    if _framework_default(code, description):
        description = str(DESCRIPTIONS.get(code, GENERIC))
    if wants_json():
        return jsonify(error=title, reason=description or title, status=code), code
    return render_template(
        "errors/error.html", code=code, title=title, description=description
    ), code


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        description = error.description if error.code != 500 else None
        if isinstance(error, RateLimitExceeded):
            description = None  # the limiter names its limit ("10 per 1 minute"): our words
        response = render_error(error.code or 500, description)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            body, code = response
            return body, code, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(OperationalError)
    def handle_database_error(error: OperationalError):
        db.session.rollback()
        if not is_outage(error):
            log.exception("database error", exc_info=error)
            return render_error(500, InternalServerError.description)
        # An outage is a temporary condition, not a bug: say so with a 503.
        log.warning("database unavailable: %s", error.__class__.__name__)
        return render_error(503, ServiceUnavailable.description)

    @app.errorhandler(DataError)
    def handle_unstorable_value(error: DataError):
        # A value PostgreSQL cannot hold or compare (a NUL byte in a slug or an email, an id
        # beyond its integer range) came from the request: refuse it, don't call it our fault.
        db.session.rollback()
        log.warning("refused a value the database cannot use: %s", type(error.orig).__name__)
        return render_error(400, _("Part of that request isn't something we can use."))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        log.exception("unhandled error", exc_info=error)
        return render_error(500, InternalServerError.description)
