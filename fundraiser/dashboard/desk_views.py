"""/staff routes of the staff desk: the campaign editor, supporter notes and bookkeeping.

Registered on the dashboard blueprint (imported at the end of dashboard.views), so every
route here wears the same access rule decorator and appears in the access matrix.
"""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from fundraiser.campaigns import photos, presets, translations
from fundraiser.campaigns import services as campaigns
from fundraiser.campaigns.content import render_markdown
from fundraiser.dashboard import audit, labels, supporter_page
from fundraiser.dashboard import campaigns as editor
from fundraiser.dashboard.access import staff_required
from fundraiser.dashboard.bookkeeping import BOOKKEEPING_COLUMNS, bookkeeping_rows, monthly_books
from fundraiser.dashboard.channels import channel_of
from fundraiser.dashboard.export import csv_lines
from fundraiser.dashboard.staff_forms import (
    BookkeepingForm,
    CampaignForm,
    DeleteTranslationForm,
    NoteForm,
    TranslationForm,
)
from fundraiser.dashboard.supporters import supporter_detail
from fundraiser.dashboard.views import bp, csv_response
from fundraiser.extensions import db
from fundraiser.i18n import NATIVE_NAMES, PREFIXED_LANGUAGES
from fundraiser.models import Campaign, Role

# --- Campaign editor ---------------------------------------------------------------------------

#: The editor's request may carry a photo (and an article file) besides the form.
PHOTO_UPLOAD_MAX_BYTES = photos.MAX_BYTES + 1024 * 1024


@bp.url_value_preprocessor
def allow_photo_uploads(endpoint: str | None, _values) -> None:
    # Runs before every before_request hook (CSRF reads the form there): only the campaign
    # editor takes bodies up to a photo's size; every other route keeps MAX_CONTENT_LENGTH.
    if endpoint in {"dashboard.new_campaign", "dashboard.edit_campaign"}:
        request.max_content_length = PHOTO_UPLOAD_MAX_BYTES


@bp.route("/campaigns/new", methods=["GET", "POST"])
@staff_required(Role.STAFF)
def new_campaign():
    """Create a campaign: article typed or uploaded, goal, dates; previewed before saving."""
    return _campaign_editor(None)


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
@staff_required(Role.STAFF)
def edit_campaign(slug: str):
    """Edit a campaign's article, goal, dates and default state."""
    found = campaigns.campaign_by_slug(slug) or abort(404, description="No such campaign.")
    return _campaign_editor(found)


def _editor_page(form, campaign: Campaign | None, status: int = 200, preview=None):
    page = render_template(
        "dashboard/desk/campaign_form.html",
        form=form,
        campaign=campaign,
        preview=preview,
        languages=editor.translation_states(campaign) if campaign else [],
        max_presets=presets.MAX_PRESETS,
        max_impact=presets.MAX_IMPACT,
    )
    return page, status


def _campaign_editor(campaign: Campaign | None):
    if request.method == "GET":
        return _editor_page(
            CampaignForm(formdata=None, data=editor.initial_values(campaign)), campaign
        )
    form = CampaignForm()
    if not form.validate_on_submit():
        return _editor_page(form, campaign, 400)
    values = {spec.name: form[spec.name].data for spec in editor.FORM_FIELDS}
    try:
        upload = form.article_file.data
        if upload:
            values = editor.values_from_article(upload.read(), values.get("slug") or "", values)
            for name in (
                "title",
                "body_markdown",
                "appeal_markdown",
                "published_on",
                "photo_caption",
            ):
                form[name].data = values[name]
        if "preview" in request.form:
            editor.clean(values)
            preview = (
                render_markdown(values["body_markdown"]),
                render_markdown(values["appeal_markdown"] or ""),
            )
            return _editor_page(form, campaign, preview=preview)
        actor = audit.staff_actor(current_user)
        saved = editor.save_campaign(campaign, values, bool(form.make_default.data), actor)
        if form.photo_file.data:
            editor.save_photo(saved, form.photo_file.data.read(), actor)
        db.session.commit()
    except editor.CampaignEditError as exc:
        db.session.rollback()
        target = form._fields.get(exc.field, form.title)
        target.errors = [*target.errors, str(exc)]
        return _editor_page(form, campaign, 400)
    except IntegrityError:
        db.session.rollback()  # another editor took the slug between our check and the commit
        form.slug.errors = [*form.slug.errors, "Another campaign already uses that slug."]
        return _editor_page(form, campaign, 400)
    editor.public_pages_changed()
    flash(f"Saved: {saved.title}")
    return redirect(url_for("dashboard.campaign", slug=saved.slug))


# --- Translations of a campaign's article -----------------------------------------------------


def _translation_target(slug: str, language: str) -> Campaign:
    found = campaigns.campaign_by_slug(slug) or abort(404, description="No such campaign.")
    if language not in PREFIXED_LANGUAGES:
        abort(404, description="No such language.")
    return found


def _translation_page(campaign, language, form, delete_form=None, status=200, preview=None):
    translation = translations.translation_for(campaign, language)
    page = render_template(
        "dashboard/desk/translation_form.html",
        campaign=campaign,
        language=language,
        language_name=NATIVE_NAMES[language],
        translation=translation,
        form=form,
        delete_form=delete_form or DeleteTranslationForm(formdata=None),
        preview=preview,
    )
    return page, status


@bp.route("/campaigns/<slug>/translations/<language>", methods=["GET", "POST"])
@staff_required(Role.STAFF)
def edit_translation(slug: str, language: str):
    """The campaign's article in another language: typed, previewed or uploaded."""
    campaign = _translation_target(slug, language)
    if request.method == "GET":
        existing = translations.translation_for(campaign, language)
        form = TranslationForm(formdata=None, data=editor.translation_values(existing))
        return _translation_page(campaign, language, form)
    form = TranslationForm()
    if not form.validate_on_submit():
        return _translation_page(campaign, language, form, status=400)
    values = {spec.name: form[spec.name].data for spec in editor.TRANSLATION_FIELDS}
    try:
        upload = form.article_file.data
        if upload:
            values = editor.translation_from_article(upload.read(), campaign.slug)
            for name, value in values.items():
                form[name].data = value
        if "preview" in request.form:
            editor.clean_translation(values)
            preview = (
                render_markdown(values["body_markdown"]),
                render_markdown(values["appeal_markdown"] or ""),
            )
            return _translation_page(campaign, language, form, preview=preview)
        actor = audit.staff_actor(current_user)
        result = editor.save_translation(campaign, language, values, actor)
        db.session.commit()
    except editor.CampaignEditError as exc:
        db.session.rollback()
        target = form._fields.get(exc.field, form.title)
        target.errors = [*target.errors, str(exc)]
        return _translation_page(campaign, language, form, status=400)
    except IntegrityError:
        db.session.rollback()  # another editor created this translation a moment before us
        form.title.errors = [*form.title.errors, "Someone saved this translation meanwhile."]
        return _translation_page(campaign, language, form, status=409)
    editor.public_pages_changed()
    verb = "Saved" if result.changed else "Unchanged"
    flash(f"{verb}: the {NATIVE_NAMES[language]} article of {campaign.title}")
    return redirect(url_for("dashboard.edit_campaign", slug=campaign.slug) + "#translations")


@bp.post("/campaigns/<slug>/translations/<language>/delete")
@staff_required(Role.STAFF)
def delete_translation(slug: str, language: str):
    """Delete a translation: that language's pages show the original again, with the note."""
    campaign = _translation_target(slug, language)
    delete_form = DeleteTranslationForm()
    if not delete_form.validate_on_submit():
        existing = translations.translation_for(campaign, language)
        form = TranslationForm(formdata=None, data=editor.translation_values(existing))
        return _translation_page(campaign, language, form, delete_form, status=400)
    if not editor.delete_translation(campaign, language, audit.staff_actor(current_user)):
        abort(404, description="There is no translation in that language.")
    db.session.commit()
    editor.public_pages_changed()
    flash(f"Deleted: the {NATIVE_NAMES[language]} article of {campaign.title}")
    return redirect(url_for("dashboard.edit_campaign", slug=campaign.slug) + "#translations")


# --- Labels people read -------------------------------------------------------------------------


bp.app_template_filter("frequency_label")(labels.frequency_label)
bp.app_template_filter("status_label")(labels.status_label)
bp.app_template_filter("kind_label")(labels.kind_label)
bp.app_template_global("channel_of")(channel_of)


# --- Supporter notes ----------------------------------------------------------------------------


@bp.post("/supporters/<email>/notes")
@staff_required(Role.STAFF)
def add_supporter_note(email: str):
    """Keep a staff note on a supporter's page."""
    detail = supporter_detail(email) or abort(404, description="No supporter with that email.")
    form = NoteForm()
    back = url_for("dashboard.supporter", email=detail.email)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
        return redirect(back)
    supporter_page.add_note(detail.email, form.body.data, current_user)
    db.session.commit()
    flash("Note kept.")
    return redirect(back + "#notes-title")


# --- Bookkeeping ---------------------------------------------------------------------------------


@bp.get("/bookkeeping")
@staff_required(Role.VIEWER)
def bookkeeping():
    """Per month, channel and currency: gross, fees, refunds, disputes, net and settled."""
    form = BookkeepingForm(request.args)
    if not form.validate():
        return render_template("dashboard/desk/bookkeeping.html", form=form, rows=None), 400
    year = form.chosen_year()
    rows = monthly_books(year)
    return render_template("dashboard/desk/bookkeeping.html", form=form, rows=rows, year=year)


@bp.get("/bookkeeping.csv")
@staff_required(Role.VIEWER)
def export_bookkeeping():
    """The monthly bookkeeping table of a year as CSV (docs/csv-export.md)."""
    form = BookkeepingForm(request.args)
    if not form.validate():
        return render_template("dashboard/desk/bookkeeping.html", form=form, rows=None), 400
    year = form.chosen_year()
    audit.record(audit.staff_actor(current_user), "export.bookkeeping", "bookkeeping", year=year)
    db.session.commit()
    lines = csv_lines(BOOKKEEPING_COLUMNS, bookkeeping_rows(year))
    return csv_response(lines, "bookkeeping", filename=f"bookkeeping-{year}.csv")
