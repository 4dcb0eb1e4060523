"""Security headers, the same-origin check for the cacheable public forms, safe redirects."""

from __future__ import annotations

from functools import lru_cache, wraps
from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, abort, current_app, g, request
from flask.sessions import SecureCookieSessionInterface


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
            abort(403, description="This form can only be sent from our own site.")
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
def content_security_policy(stripe_api_base: str | None) -> str:
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
            "frame-ancestors 'none'",
        ]
    )


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        policy = content_security_policy(app.config.get("STRIPE_API_BASE"))
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
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

    def save_session(self, app: Flask, session, response: Response) -> None:
        super().save_session(app, session, response)
        if g.get("same_for_everyone") and not session.modified:
            response.vary.discard("Cookie")
            if "Set-Cookie" in response.headers:
                del response.headers["Set-Cookie"]


def mark_same_for_everyone() -> None:
    """Declare that this response carries no per-visitor data and may be shared by caches."""
    g.same_for_everyone = True
