"""Security headers, the same-origin check for the cacheable public forms, safe redirects."""

from __future__ import annotations

import io
from functools import lru_cache, wraps
from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, abort, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins() -> set[str]:
    """Our own origin as configured, plus the one this request came to (for local dev)."""
    origins = {_origin_of(current_app.config["BASE_URL"])}
    origins.add(_origin_of(request.host_url))
    return origins


def is_same_origin_request() -> bool:
    """OWASP's Fetch-Metadata/Origin check, for forms that must carry no per-visitor token."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in {"same-origin", "none"}
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.lower() in allowed_origins()
    referer = request.headers.get("Referer")
    if referer:
        return _origin_of(referer) in allowed_origins()
    return False


def same_origin_required(view):
    """Refuse cross-site posts (403) to a view exempt from token CSRF."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in {"GET", "HEAD", "OPTIONS"} and not is_same_origin_request():
            abort(403, description=_("This form can only be sent from our own site."))
        return view(*args, **kwargs)

    return wrapper


def is_safe_redirect(target: str | None) -> bool:
    """Only local paths may be used as a `next` redirect."""
    if not target or "\\" in target or any(c in target for c in "\r\n\t"):
        return False
    resolved = urlsplit(urljoin(request.host_url, target))
    return (
        resolved.scheme in {"http", "https"}
        and resolved.netloc == urlsplit(request.host_url).netloc
        and target.startswith("/")
        and not target.startswith("//")
    )


def _payment_origins(stripe_api_base: str | None) -> str:
    origins = ["https://checkout.stripe.com", "https://billing.stripe.com"]
    if stripe_api_base:
        origins.append(_origin_of(stripe_api_base))
    return " ".join(origins)


@lru_cache(maxsize=8)
def content_security_policy(stripe_api_base: str | None, frame_ancestors: str = "'none'") -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            # Chrome applies form-action to the redirect after /donate, so Checkout is listed.
            f"form-action 'self' {_payment_origins(stripe_api_base)}",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


class CappedStreamedBodies:
    """WSGI middleware: a chunked body (no Content-Length) over MAX_CONTENT_LENGTH gets 413.

    Werkzeug caps such streams by silently stopping at the limit, so an oversized form or
    webhook would be handled truncated. We buffer at most limit + 1 bytes and hand the app
    a body with a true Content-Length, so its usual check answers 413 with our error page.
    """

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        streamed = environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH")
        if limit and streamed:
            body = environ["wsgi.input"].read(limit + 1)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(body if len(body) <= limit else b"")
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        return self.wsgi_app(environ, start_response)


def register_security_headers(app: Flask) -> None:
    app.wsgi_app = CappedStreamedBodies(app, app.wsgi_app)

    @app.before_request
    def refuse_undecodable_query_string() -> None:
        # Werkzeug decodes raw query bytes strictly when a view first reads request.args, so
        # bytes that aren't UTF-8 would surface as a 500 there: refuse them up front instead.
        try:
            request.query_string.decode()
        except UnicodeDecodeError:
            abort(400, description=_("That address isn't valid UTF-8."))

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        framers = g.get("frame_ancestors")
        policy = content_security_policy(app.config.get("STRIPE_API_BASE"), framers or "'none'")
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if not framers:  # X-Frame-Options knows no list of origins: CSP alone says who may frame
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


class CacheFriendlySessionInterface(SecureCookieSessionInterface):
    """Leaves out `Vary: Cookie` on pages marked as the same for everyone (the landing page).

    Flask-Login peeks at the session after every request, which would make every response
    vary on Cookie and defeat the shared cache the landing page is built for.
    """

    def open_session(self, app: Flask, request):
        # Without a session cookie Flask's answer is an empty session; reaching it builds a
        # signing serializer first, which webhooks and first visits never use.
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response: Response) -> None:
        super().save_session(app, session, response)
        if g.get("same_for_everyone") and not session.modified:
            response.vary.discard("Cookie")
            if "Set-Cookie" in response.headers:
                del response.headers["Set-Cookie"]


def mark_same_for_everyone() -> None:
    """Declare that this response carries no per-visitor data and may be shared by caches."""
    g.same_for_everyone = True


def allow_framing_by(origins: list[str]) -> None:
    """Let these origins (and our own) frame this response: for the embeddable panel only."""
    g.frame_ancestors = " ".join(["'self'", *origins])
