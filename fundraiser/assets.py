"""Fingerprinted static files: a name that changes with the content, so it is cached for ever."""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache

from flask import Flask, url_for
from werkzeug.security import safe_join

#: "css/site.3f2a1b9c0d.css": the file's name with ten hex digits of its SHA-256.
FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<ext>\.[A-Za-z0-9]+)$")
IMMUTABLE_SECONDS = 365 * 24 * 3600


@lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:10]


def fingerprinted(static_folder: str, filename: str) -> str | None:
    """`filename` with its content's fingerprint, or None when there is no such file."""
    path = safe_join(static_folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    stem, ext = os.path.splitext(filename)
    return f"{stem}.{_digest(path, stat.st_mtime_ns, stat.st_size)}{ext}"


def init_assets(app: Flask) -> None:
    """Templates' url_for('static', …) gives fingerprinted names; the static view serves them."""
    folder = app.static_folder or ""

    def asset_url_for(endpoint: str, **values) -> str:
        if endpoint == "static" and "filename" in values:
            values["filename"] = fingerprinted(folder, values["filename"]) or values["filename"]
        return url_for(endpoint, **values)

    app.jinja_env.globals["url_for"] = asset_url_for

    def static(filename: str):
        match = FINGERPRINTED.match(filename)
        real = f"{match['stem']}{match['ext']}" if match else ""
        if match and fingerprinted(folder, real) == filename:
            response = app.send_static_file(real)
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = IMMUTABLE_SECONDS
            response.cache_control.immutable = True
            return response
        return app.send_static_file(filename)

    app.view_functions["static"] = static
