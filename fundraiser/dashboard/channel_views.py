"""/staff/channels: PayPal activity and Patreon members uploads, offline gifts (staff and
admins)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from fundraiser.campaigns import services as campaigns
from fundraiser.dashboard.access import staff_required
from fundraiser.dashboard.channel_forms import (
    UPLOAD_MAX_BYTES,
    OfflineGiftForm,
    PatreonImportForm,
    PayPalImportForm,
    ReverseGiftForm,
)
from fundraiser.dashboard.channels import record_upload
from fundraiser.dashboard.forms import choices
from fundraiser.dashboard.views import bp
from fundraiser.extensions import db
from fundraiser.models import Role
from fundraiser.money import format_money
from fundraiser.patreon.export import ExportFileError
from fundraiser.patreon.imports import import_export
from fundraiser.payments import offline
from fundraiser.paypal.activity import ActivityFileError
from fundraiser.paypal.imports import import_activity

#: The Patreon upload's fields are named patreon-file…, apart from the PayPal upload's.
PATREON_PREFIX = "patreon"
IMPORT_ENDPOINTS = {"dashboard.paypal_import", "dashboard.patreon_import"}


@bp.url_value_preprocessor
def allow_channel_uploads(endpoint: str | None, _values) -> None:
    # Before CSRF reads the form: an activity download or members export may be a few
    # megabytes; a larger body is answered 413 before anything is read.
    if endpoint in IMPORT_ENDPOINTS:
        request.max_content_length = UPLOAD_MAX_BYTES


def _offline_form() -> OfflineGiftForm:
    form = OfflineGiftForm()
    form.campaign.choices = choices((c.slug, c.title) for c in campaigns.all_campaigns())
    return form


def _page(
    import_form=None,
    gift_form=None,
    summary=None,
    status: int = 200,
    patreon_form=None,
    summary_of: str = "PayPal",
):
    entries = offline.recent_offline()
    return (
        render_template(
            "dashboard/channels.html",
            import_form=import_form or PayPalImportForm(),
            patreon_form=patreon_form or PatreonImportForm(prefix=PATREON_PREFIX),
            summary_of=summary_of,
            upload_max_mb=UPLOAD_MAX_BYTES // (1024 * 1024),
            gift_form=gift_form or _offline_form(),
            reverse_form=ReverseGiftForm(),
            summary=summary,
            entries=entries,
            reversed_refs=offline.reversed_refs(entries),
        ),
        status,
    )


@bp.get("/channels")
@staff_required(Role.STAFF)
def channels():
    """Upload PayPal's activity CSV or Patreon's members export; record and reverse offline
    gifts."""
    return _page()


@bp.post("/channels/paypal-import")
@staff_required(Role.STAFF)
def paypal_import():
    """Import (or check) a PayPal activity download."""
    form = PayPalImportForm()
    return _uploaded(
        form,
        "import_form",
        "paypal",
        "PayPal",
        ActivityFileError,
        lambda data, **options: import_activity(
            data, day_first=not form.month_first.data, **options
        ),
    )


@bp.post("/channels/patreon-import")
@staff_required(Role.STAFF)
def patreon_import():
    """Import (or check) a Patreon members export."""
    form = PatreonImportForm(prefix=PATREON_PREFIX)
    return _uploaded(form, "patreon_form", "patreon", "Patreon", ExportFileError, import_export)


def _uploaded(form, form_name: str, channel: str, label: str, file_error, run_import):
    """One upload through its channel's importer (the CLI's): the page with its summary, or
    with the form's error; audited either way the importer got to read it."""
    if not form.validate_on_submit():
        return _page(**{form_name: form}, status=400)
    try:
        summary = run_import(
            form.file.data.read(),
            actor=f"staff:{current_user.id}",
            dry_run=form.dry_run.data,
            skip_bad_rows=form.skip_bad_rows.data,
        )
    except file_error as error:
        form.file.errors = [str(error)]
        return _page(**{form_name: form}, status=400)
    record_upload(current_user, channel, form.file.data.filename, summary, form.dry_run.data)
    db.session.commit()
    status = 200 if summary.booked or form.dry_run.data else 400
    return _page(summary=summary, summary_of=label, status=status)


@bp.post("/channels/offline")
@staff_required(Role.STAFF)
def record_offline_gift():
    """Record a gift that never touched a processor."""
    form = _offline_form()
    if not form.validate_on_submit():
        return _page(gift_form=form, status=400)
    gift = offline.OfflineGift(
        form.campaign.data,
        form.amount.data,
        form.currency.data or "",
        form.day.data,
        form.method.data,
        form.donor_name.data or "",
        form.donor_email.data or "",
        form.reference.data or "",
        form.note.data or "",
    )
    try:
        entry = offline.record_offline(gift, current_user)
    except offline.OfflineGiftError as error:
        form.amount.errors = [str(error)]
        return _page(gift_form=form, status=400)
    flash(f"Recorded {format_money(entry.amount_minor, entry.currency)} ({entry.external_id}).")
    return redirect(url_for("dashboard.channels"))


@bp.post("/channels/offline/<int:entry_id>/reverse")
@staff_required(Role.STAFF)
def reverse_offline_gift(entry_id: int):
    """Reverse an offline gift recorded by mistake."""
    form = ReverseGiftForm()
    if not form.validate_on_submit():
        flash("Say why the gift is reversed.", "error")
        return redirect(url_for("dashboard.channels"))
    try:
        offline.reverse_offline(entry_id, current_user, form.reason.data)
    except offline.OfflineGiftError as error:
        flash(str(error), "error")
    else:
        flash("The gift is reversed.")
    return redirect(url_for("dashboard.channels"))
