"""Admin work: the staff team (roles, disabling, resetting 2FA) and opening/closing campaigns."""

from __future__ import annotations

from sqlalchemy import select

from fundraiser.campaigns.services import close_campaign, set_default
from fundraiser.dashboard import audit
from fundraiser.extensions import db
from fundraiser.models import Campaign, Role, Supporter
from fundraiser.models.supporter import ROLE_RANK

STAFF_ROLES = (Role.VIEWER.value, Role.STAFF.value, Role.ADMIN.value)


class AdminError(Exception):
    """A change refused; the message is shown to the admin."""


def staff_members() -> list[Supporter]:
    return list(
        db.session.scalars(
            select(Supporter).where(Supporter.role.in_(STAFF_ROLES)).order_by(Supporter.email)
        )
    )


def _active_admin_ids() -> list[int]:
    """The active admins' ids, their rows locked on PostgreSQL until the transaction ends.

    Locking every active admin row (in id order, so two callers never deadlock) makes two
    admins removing each other at the same moment take turns: the second one then finds
    only itself left and is refused. SQLite ignores FOR UPDATE; it runs one writer at once.
    """
    return list(
        db.session.scalars(
            select(Supporter.id)
            .where(
                Supporter.role == Role.ADMIN.value,
                Supporter.is_active.is_(True),
                Supporter.deleted_at.is_(None),
            )
            .order_by(Supporter.id)
            .with_for_update()
        )
    )


def guard_last_admin(member: Supporter) -> None:
    """Refuse to take away the last active admin (demote, disable or erase): nobody could
    manage the team any more. Call it before changing `member`, in the same transaction."""
    admins = _active_admin_ids()
    if member.id in admins and len(admins) <= 1:
        raise AdminError("That is the last active admin; make someone else admin first.")


def set_role(member: Supporter, role: str, actor: str) -> None:
    """Change a staff member's role (supporter removes staff access); signs them out."""
    if role not in {r.value for r in ROLE_RANK}:
        raise AdminError("Unknown role.")
    if role == member.role:
        return
    if role != Role.ADMIN.value:
        guard_last_admin(member)
    old = member.role
    member.role = role
    member.session_version += 1
    audit.record(actor, "staff.role_changed", f"supporter:{member.id}", old=old, new=role)


def disable(member: Supporter, actor: str) -> None:
    """Switch the account off and end every session it has (never the last active admin)."""
    if not member.is_active:
        return
    guard_last_admin(member)
    member.is_active = False
    member.session_version += 1
    audit.record(actor, "staff.disabled", f"supporter:{member.id}", email=member.email)


def enable(member: Supporter, actor: str) -> None:
    if member.is_active:
        return
    member.is_active = True
    audit.record(actor, "staff.enabled", f"supporter:{member.id}", email=member.email)


def reset_second_factor(member: Supporter, actor: str) -> None:
    """Forget the TOTP secret and recovery codes; the next sign-in enrols again."""
    member.totp_secret = None
    member.pending_totp_secret = None
    member.totp_recovery_hashes = "[]"
    member.session_version += 1
    audit.record(actor, "staff.totp_reset", f"supporter:{member.id}", email=member.email)


def set_campaign_open(campaign: Campaign, is_open: bool, actor: str) -> None:
    if not is_open:
        close_campaign(campaign, actor)  # also expires its open checkout sessions
        return
    if campaign.is_open == is_open:
        return
    campaign.is_open = is_open
    action = "campaign.opened" if is_open else "campaign.closed"
    audit.record(actor, action, f"campaign:{campaign.slug}")


def make_default_campaign(campaign: Campaign, actor: str) -> None:
    if campaign.is_default:
        return
    set_default(campaign)
    audit.record(actor, "campaign.made_default", f"campaign:{campaign.slug}")
