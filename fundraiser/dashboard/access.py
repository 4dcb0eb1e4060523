"""Who may use /staff: the one decorator every staff route wears, and the 2FA session mark."""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from fundraiser.models import Role, Supporter

#: Session key holding the session_version the second factor was passed with.
TWO_FACTOR_KEY = "staff_2fa"
#: Session key holding when (unix seconds) the second factor was passed.
TWO_FACTOR_AT_KEY = "staff_2fa_at"
#: A staff session asks for the second factor again after this long.
STAFF_SESSION_SECONDS = 12 * 60 * 60

#: Attribute set on every view function that has declared who may use it.
ACCESS_ATTRIBUTE = "staff_access"


def mark_two_factor_passed(staff: Supporter) -> None:
    session[TWO_FACTOR_KEY] = staff.session_version
    session[TWO_FACTOR_AT_KEY] = int(time.time())


def two_factor_passed() -> bool:
    """Whether this session passed TOTP for the signed-in account's current session version."""
    if session.get(TWO_FACTOR_KEY) != current_user.session_version:
        return False
    passed_at = session.get(TWO_FACTOR_AT_KEY)
    return isinstance(passed_at, int) and time.time() - passed_at < STAFF_SESSION_SECONDS


def is_staff(user) -> bool:
    """A signed-in, active account with at least the viewer role."""
    if not user.is_authenticated or not user.is_active or user.deleted_at is not None:
        return False
    try:
        return user.has_role(Role.VIEWER)
    except ValueError:  # an unknown role string in the database grants nothing
        return False


def staff_required(role: Role):
    """Allow the view only to active staff with `role` or above who passed the second factor.

    Anonymous visitors and staff without the second factor go to the staff sign-in page;
    signed-in accounts without the role get 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return _to_sign_in()
            if not is_staff(current_user):
                abort(403, description="This area is for staff only.")
            if not two_factor_passed():
                return _to_sign_in()
            if not current_user.has_role(role):
                abort(403, description=f"This needs the {role.value} role.")
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTRIBUTE, role.value)
        return wrapper

    return decorator


def public(view):
    """Mark a /staff view as open to everyone (the sign-in steps only)."""
    setattr(view, ACCESS_ATTRIBUTE, "public")
    return view


def refuse_undeclared_views() -> None:
    """Deny by default: a /staff view that declared no access rule answers 403 to everyone."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return
    if getattr(view, ACCESS_ATTRIBUTE, None) is None:
        abort(403, description="This page has no access rule yet, so nobody may use it.")


def _to_sign_in():
    target = request.full_path if request.method == "GET" else None
    if target and target.endswith("?"):
        target = target[:-1]
    return redirect(url_for("dashboard.login", next=target))
