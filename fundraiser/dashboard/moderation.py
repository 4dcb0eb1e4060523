"""/staff/messages: messages for the wall wait here until staff approve or hide them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from fundraiser.dashboard import audit
from fundraiser.dashboard.access import staff_required
from fundraiser.dashboard.campaigns import public_pages_changed
from fundraiser.dashboard.forms import SimpleActionForm
from fundraiser.dashboard.views import bp
from fundraiser.donations import wall
from fundraiser.extensions import db
from fundraiser.models import Role


@bp.get("/messages")
@staff_required(Role.VIEWER)
def messages():
    """Donors' messages for the supporters wall, by moderation state."""
    state = request.args.get("state", wall.PENDING)
    if state not in wall.MODERATION_STATES:
        abort(400, description="Choose pending, approved or hidden.")
    return render_template(
        "dashboard/messages.html",
        state=state,
        states=wall.MODERATION_STATES,
        intents=wall.messages_to_moderate(state),
        form=SimpleActionForm(),
    )


@bp.post("/messages/<int:intent_id>/<any(approved, hidden):state>")
@staff_required(Role.STAFF)
def moderate_message(intent_id: int, state: str):
    """Approve a message for the wall, or hide it."""
    if not SimpleActionForm().validate_on_submit():
        abort(400, description="The form expired; please try again.")
    try:
        wall.moderate(intent_id, state, audit.staff_actor(current_user))
    except wall.ModerationError as exc:
        abort(404, description=str(exc))
    db.session.commit()
    public_pages_changed()
    flash("Approved for the wall." if state == wall.APPROVED else "Hidden from the wall.")
    return redirect(url_for("dashboard.messages", state=request.args.get("back", wall.PENDING)))
