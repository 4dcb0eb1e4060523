"""Privacy: a supporter's data as JSON, and erasing an account while the ledger keeps its sums."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import update

from fundraiser import audit
from fundraiser.accounts import giving, pledge_actions
from fundraiser.accounts.services import AccountError, refuse_staff_identity
from fundraiser.extensions import db
from fundraiser.models import (
    DonationIntent,
    PledgeStatus,
    Supporter,
    UsedToken,
    utcnow,
)
from fundraiser.money import format_money
from fundraiser.passwords import verify_password
from fundraiser.payments import ledger, ledger_writes
from fundraiser.payments.ledger import Transaction


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export_data(supporter: Supporter) -> dict:
    """Everything we hold about the supporter, in one document they can keep."""
    gifts = giving.donation_history(supporter)
    return {
        "exported_at": _iso(utcnow()),
        "profile": {
            "email": supporter.email,
            "email_verified_at": _iso(supporter.email_verified_at),
            "name": supporter.name,
            "show_publicly": supporter.show_publicly,
            "has_password": supporter.password_hash is not None,
            "created_at": _iso(supporter.created_at),
        },
        "donations": [
            {
                "id": gift.entry.id,
                "date": _iso(gift.entry.occurred_at),
                "campaign": gift.entry.campaign.title,
                "amount_minor": gift.entry.amount_minor,
                "currency": gift.entry.currency,
                "amount": format_money(gift.entry.amount_minor, gift.entry.currency),
                "recurring": gift.recurring,
                "frequency": gift.entry.frequency,
                "status": gift.status,
                "refunded_minor": gift.refunded_minor,
                "donor_name": gift.entry.donor_name,
                "stripe_payment": gift.entry.payment_ref,
            }
            for gift in gifts
        ],
        "pledges": [
            {
                "id": pledge.id,
                "campaign": pledge.campaign.title,
                "amount_minor": pledge.amount_minor,
                "currency": pledge.currency,
                "interval": pledge.interval,
                "status": pledge.status,
                "next_payment_at": _iso(pledge.next_payment_at),
                "paused_until": _iso(pledge.paused_until),
                "cancelled_at": _iso(pledge.cancelled_at),
                "cancel_reason": pledge.cancel_reason,
                "created_at": _iso(pledge.created_at),
            }
            for pledge in giving.pledges_for(supporter)
        ],
    }


def check_deletion_allowed(supporter: Supporter, password: str, signed_in_by_link: bool) -> None:
    """Deleting needs the password, or a sign-in by emailed link a few minutes ago; a staff
    account is never erased here (only in /staff, behind the second factor)."""
    refuse_staff_identity(supporter)
    if signed_in_by_link:
        return
    if not supporter.password_hash:
        raise AccountError(_("Please confirm by email: we'll send you a sign-in link."))
    if not verify_password(supporter.password_hash, password):
        raise AccountError(_("That password is not right."))


def delete_account(supporter: Supporter) -> None:
    """Cancel live pledges, then erase personal data; amounts and Stripe ids stay in the ledger.

    Cancelling comes first: if Stripe cannot be reached the account is left as it was (a
    PledgeActionError says so), rather than erased with subscriptions still charging.
    """
    pledges = giving.pledges_for(supporter)
    for pledge in pledges:
        # PayPal's and Patreon's pledges are only mirrored: they stop there, not here (the
        # delete page says so); the mirror loses its email below like everything else.
        live = pledge.status != PledgeStatus.CANCELLED.value
        if live and pledge_actions.kept_elsewhere(pledge) is None:
            pledge_actions.cancel(supporter, pledge, "account deleted")
    actor = f"supporter:{supporter.id}"
    ledger.change(actor, lambda tx: _erase(supporter, pledges, tx))


def _erase(supporter: Supporter, pledges: list, tx: Transaction) -> None:
    email = supporter.email
    ledger_writes.erase_donor(giving.owned_entries_clause(supporter), supporter.id, tx)
    for pledge in pledges:
        pledge.email = None
        pledge.supporter_id = supporter.id
    if email:
        db.session.execute(
            update(DonationIntent)
            .where(DonationIntent.email == email)
            .values(email=None, name="", message="")
            .execution_options(synchronize_session=False)
        )
    db.session.execute(db.delete(UsedToken).where(UsedToken.supporter_id == supporter.id))
    supporter.email = None
    supporter.name = ""
    supporter.password_hash = None
    supporter.show_publicly = False
    supporter.totp_secret = None
    supporter.totp_recovery_hashes = "[]"
    supporter.is_active = False
    supporter.deleted_at = utcnow()
    supporter.session_version += 1
    audit.record(
        f"supporter:{supporter.id}",
        "account.deleted",
        f"supporter:{supporter.id}",
        pledges_cancelled=[p.id for p in pledges],
    )
    db.session.flush()


def export_filename() -> str:
    return f"socialist-world-my-data-{utcnow():%Y-%m-%d}.json"
