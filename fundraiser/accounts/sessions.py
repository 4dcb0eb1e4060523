"""Loading the signed-in supporter from the session, checked against their session version."""

from __future__ import annotations

from fundraiser.extensions import db, login_manager
from fundraiser.models import Supporter


@login_manager.user_loader
def load_supporter(session_id: str) -> Supporter | None:
    """Accept "<id>:<session_version>" only while the version is current ("log out everywhere")."""
    try:
        supporter_id, version = (int(part) for part in session_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    supporter = db.session.get(Supporter, supporter_id)
    if supporter is None or not supporter.is_active or supporter.deleted_at is not None:
        return None
    if not supporter.is_verified:
        return None  # nobody is signed in to an account whose mailbox is unproven
    if supporter.session_version != version:
        return None
    return supporter
