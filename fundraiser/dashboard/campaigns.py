"""Campaigns edited from the dashboard: one table of editable fields, the CLI's validation,
all-or-nothing saves, an audit entry per change and the public page refreshed at once.

Adding an editable column is one line in FIELDS (its form field and how its text is read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_wtf.file import FileField, FileSize
from sqlalchemy import select
from wtforms import DateField, Field, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from fundraiser.cache import snapshots
from fundraiser.campaigns import photos, presets, translations
from fundraiser.campaigns.importer import ArticleFormatError, parse_article
from fundraiser.campaigns.services import (
    CampaignImportError,
    set_default,
    validate_currency,
    validate_slug,
)
from fundraiser.dashboard import audit
from fundraiser.extensions import db
from fundraiser.i18n import NATIVE_NAMES, PREFIXED_LANGUAGES
from fundraiser.models import Campaign, DonationIntent, Frequency, LedgerEntry
from fundraiser.money import CURRENCY_RULES, AmountError, major_units_text, parse_amount

#: Largest article file staff may upload (the request limit is MAX_CONTENT_LENGTH anyway).
MAX_ARTICLE_BYTES = 200 * 1024


class CampaignEditError(ValueError):
    """A change refused: `field` names the form field the message belongs to ("" for none)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _text(value: Any, _: dict) -> str:
    return (value or "").strip()


def _required(label: str) -> Callable[[Any, dict], str]:
    def clean(value: Any, _: dict) -> str:
        text = (value or "").strip()
        if not text:
            raise CampaignImportError(f"Please enter the {label}.")
        return text

    return clean


def _markdown(value: Any, _: dict) -> str:
    """Markdown as typed (browsers send CRLF line ends; the importer writes LF)."""
    return (value or "").replace("\r\n", "\n")


def _required_markdown(value: Any, cleaned: dict) -> str:
    if not (value or "").strip():
        raise CampaignImportError("Please enter the article.")
    return _markdown(value, cleaned)


def _slug(value: Any, _: dict) -> str:
    return validate_slug(value or "")


def _currency(value: Any, _: dict) -> str:
    return validate_currency(value or "")


def _goal(value: Any, cleaned: dict) -> int:
    try:
        return parse_amount(value or "", cleaned["currency"])
    except AmountError as exc:
        raise CampaignImportError(f"Goal: {exc}") from exc


def _date(value: Any, _: dict) -> date | None:
    return value or None


def _closes_on(value: Any, cleaned: dict) -> date | None:
    opens = cleaned.get("opens_on")
    if value and opens and value < opens:
        raise CampaignImportError("The close date is before the open date.")
    return value or None


def _goal_text(campaign: Campaign) -> str:
    return major_units_text(campaign.goal_minor, campaign.currency)


@dataclass(frozen=True)
class CampaignField:
    """One editable Campaign column: its form field, how form data becomes the stored value
    (raising CampaignImportError with the reason, as the CLI does), and how it is shown.

    `stored=False`: a form field only, read by a later entry (the ladders' text boxes);
    `make=None`: a column with no form field of its own, built from those earlier values."""

    name: str
    make: Callable[[], Field] | None
    clean: Callable[[Any, dict], Any] = _text
    shown: Callable[[Campaign], Any] | None = None
    stored: bool = True


def _ladder_amounts(frequency: str) -> Callable[[Any, dict], list[int] | None]:
    def clean(value: Any, _: dict) -> list[int] | None:
        if not (value or "").strip():
            return None  # the standard ladder
        try:
            return presets.parse_amounts(value)
        except presets.PresetError as exc:
            raise CampaignImportError(str(exc)) from exc

    return clean


def _ladder_impacts(frequency: str) -> Callable[[Any, dict], list[dict] | None]:
    key = frequency.replace("-", "_")

    def clean(value: Any, cleaned: dict) -> list[dict] | None:
        lines = (value or "").splitlines()
        amounts = cleaned[f"presets_{key}"]
        if amounts is None:
            if any(line.strip() for line in lines):
                raise CampaignImportError("Impact lines need the campaign's own amounts above.")
            return None
        try:
            return presets.parse_impacts(amounts, lines)
        except presets.PresetError as exc:
            raise CampaignImportError(str(exc)) from exc

    return clean


def _preset_ladders(_: Any, cleaned: dict) -> dict | None:
    ladders = {
        f.value: cleaned[f"impacts_{f.value.replace('-', '_')}"]
        for f in Frequency
        if cleaned[f"impacts_{f.value.replace('-', '_')}"] is not None
    }
    return ladders or None


def _default_frequency(value: Any, _: dict) -> str:
    try:
        return Frequency(value or Frequency.ONE_TIME.value).value
    except ValueError as exc:
        raise CampaignImportError("Choose one-off, monthly or yearly.") from exc


def _ladder_fields(frequency: Frequency) -> tuple[CampaignField, CampaignField]:
    key = frequency.value.replace("-", "_")
    label = FREQUENCY_WORDS[frequency.value]
    standard = ", ".join(str(a) for a in presets.DEFAULT_LADDERS[frequency.value])
    return (
        CampaignField(
            f"presets_{key}",
            lambda: StringField(
                f"{label} amounts", [Length(max=80)], render_kw={"placeholder": standard}
            ),
            _ladder_amounts(frequency.value),
            shown=lambda c: presets.amounts_text(c, frequency.value),
            stored=False,
        ),
        CampaignField(
            f"impacts_{key}",
            lambda: TextAreaField(f"{label} impact lines", [Length(max=1000)]),
            _ladder_impacts(frequency.value),
            shown=lambda c: presets.impacts_text(c, frequency.value),
            stored=False,
        ),
    )


#: How the editor names each frequency's ladder.
FREQUENCY_WORDS = {"one-time": "One-off", "monthly": "Monthly", "yearly": "Yearly"}


def _currencies() -> list[SelectChoice]:
    return [SelectChoice(code) for code in sorted(CURRENCY_RULES)]


#: In the order they are read: a field may use the values cleaned before it (goal: currency).
FIELDS: tuple[CampaignField, ...] = (
    CampaignField("title", lambda: StringField("Title", [Length(max=300)]), _required("title")),
    CampaignField(
        "slug", lambda: StringField("Slug (the address: /campaigns/slug)", [Length(max=80)]), _slug
    ),
    CampaignField("body_markdown", lambda: TextAreaField("Article (Markdown)"), _required_markdown),
    CampaignField("appeal_markdown", lambda: TextAreaField("Closing appeal (Markdown)"), _markdown),
    CampaignField("published_on", lambda: DateField("Date", [Optional()]), _date),
    CampaignField("photo_caption", lambda: StringField("Photo caption", [Length(max=1000)])),
    CampaignField("currency", lambda: SelectField("Currency", choices=_currencies()), _currency),
    CampaignField(
        "goal_minor", lambda: StringField("Goal", [Length(max=20)]), _goal, shown=_goal_text
    ),
    CampaignField("opens_on", lambda: DateField("Opens on", [Optional()]), _date),
    CampaignField("closes_on", lambda: DateField("Closes on", [Optional()]), _closes_on),
    *(spec for frequency in Frequency for spec in _ladder_fields(frequency)),
    CampaignField("preset_ladders", None, _preset_ladders),
    CampaignField(
        "default_frequency",
        lambda: SelectField(
            "The form opens on",
            choices=[SelectChoice(value, label) for value, label in FREQUENCY_WORDS.items()],
            default=Frequency.ONE_TIME.value,
        ),
        _default_frequency,
    ),
)
#: The fields the editor's form shows.
FORM_FIELDS = tuple(spec for spec in FIELDS if spec.make is not None)
#: Fields whose change alters what readers see of the article (bumps content_version).
ARTICLE_FIELDS = {"title", "body_markdown", "appeal_markdown", "published_on", "photo_caption"}
#: Fields whose change alters the donation panel readers see (also bumps content_version).
PANEL_FIELDS = {"preset_ladders", "default_frequency"}
#: Text too long to copy into the audit log: an entry says only that it changed.
LONG_FIELDS = {"body_markdown", "appeal_markdown"}


def article_file_field() -> FileField:
    return FileField(
        "Or upload the article as a text file (read as `flask campaign import` reads it)",
        [FileSize(MAX_ARTICLE_BYTES, message="The file is larger than 200 KB.")],
    )


def photo_file_field() -> FileField:
    return FileField(
        "Photo (JPEG, PNG or WebP; resized for every screen)",
        [
            FileSize(
                photos.MAX_BYTES, message="That photo is over 20 MB; please send a smaller one."
            )
        ],
    )


def initial_values(campaign: Campaign | None) -> dict[str, Any]:
    """What the form shows for an existing campaign (or a new one's defaults)."""
    if campaign is None:
        return {"currency": "EUR", "default_frequency": Frequency.ONE_TIME.value}
    return {
        f.name: f.shown(campaign) if f.shown else getattr(campaign, f.name) for f in FORM_FIELDS
    }


def values_from_article(raw: bytes, slug: str, values: dict[str, Any]) -> dict[str, Any]:
    """The form's values with the article fields replaced by what the importer reads in `raw`."""
    try:
        article = parse_article(raw, slug or "campaign")
    except ArticleFormatError as exc:
        raise CampaignEditError("article_file", str(exc)) from exc
    return values | {
        "title": article.title,
        "body_markdown": article.body_markdown,
        "appeal_markdown": article.appeal_markdown,
        "published_on": article.published_on,
        "photo_caption": article.photo_caption,
    }


def clean(values: dict[str, Any]) -> dict[str, Any]:
    """Every field read and checked, or CampaignEditError for the first one that is wrong."""
    return _clean_fields(FIELDS, values)


def _clean_fields(fields, values: dict[str, Any], then=None) -> dict[str, Any]:
    """`fields` read and checked in order (each may look at those before it); `then(name,
    value)` may refuse a field once it is clean. CampaignEditError for the first wrong one."""
    cleaned: dict[str, Any] = {}
    for spec in fields:
        try:
            cleaned[spec.name] = spec.clean(values.get(spec.name), cleaned)
        except CampaignImportError as exc:
            raise CampaignEditError(spec.name, str(exc)) from exc
        if then is not None:
            then(spec.name, cleaned[spec.name])
    return cleaned


def _has_gifts(campaign: Campaign) -> bool:
    for model in (LedgerEntry, DonationIntent):
        found = select(model.id).where(model.campaign_id == campaign.id).limit(1)
        if db.session.scalar(found) is not None:
            return True
    return False


def _check_slug(campaign: Campaign | None, slug: str) -> None:
    if campaign is not None and campaign.slug == slug:
        return
    if campaign is not None and _has_gifts(campaign):
        raise CampaignEditError(
            "slug", "People have given through this address; its slug can no longer change."
        )
    taken = db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))
    if taken is not None:
        raise CampaignEditError("slug", f"Another campaign already uses the slug {slug!r}.")


def _audit_value(name: str, value: Any) -> Any:
    return "(changed)" if name in LONG_FIELDS else value


def save_campaign(
    campaign: Campaign | None, values: dict[str, Any], make_default: bool, actor: str
) -> Campaign:
    """Create (campaign=None) or update a campaign from the form's values, all or nothing.

    Everything is checked before the row is touched, so a refusal leaves nothing half-saved;
    the caller commits, or rolls back on CampaignEditError.
    """
    cleaned = clean(values)
    _check_slug(campaign, cleaned["slug"])
    created = campaign is None
    if campaign is None:
        campaign = Campaign(content_version=0, is_open=True, is_default=False)
        db.session.add(campaign)
    stored = {spec.name: cleaned[spec.name] for spec in FIELDS if spec.stored}
    changes = {
        name: [getattr(campaign, name, None), value]
        for name, value in stored.items()
        if created or getattr(campaign, name) != value
    }
    for name, value in stored.items():
        setattr(campaign, name, value)
    if created or (ARTICLE_FIELDS | PANEL_FIELDS) & set(changes):
        campaign.content_version = (campaign.content_version or 0) + 1
    if make_default and not campaign.is_default:
        set_default(campaign)
        changes["is_default"] = [False, True]
    db.session.flush()
    detail = {name: [_audit_value(name, v) for v in pair] for name, pair in changes.items()}
    action = "campaign.created" if created else "campaign.updated"
    if changes:
        audit.record(actor, action, f"campaign:{campaign.slug}", changes=detail)
    return campaign


def save_photo(campaign: Campaign, data: bytes, actor: str) -> None:
    """Give the campaign an uploaded photo (as `flask campaign photo` does), in the caller's
    transaction; CampaignEditError when the file is no photo we can use."""
    old = campaign.photo_key
    try:
        photos.attach_photo(campaign, data)
    except photos.PhotoError as exc:
        raise CampaignEditError("photo_file", str(exc)) from exc
    if campaign.photo_key != old:
        audit.record(actor, "campaign.photo", f"campaign:{campaign.slug}", old=old,
                     new=campaign.photo_key)  # fmt: skip


# --- Translations ------------------------------------------------------------------------------

#: The translated fields the editor shows, with the original's labels and checks.
TRANSLATION_FIELDS = tuple(spec for spec in FIELDS if spec.name in translations.TRANSLATED_FIELDS)
#: Longest Markdown (article or appeal) a translation takes: as much as an uploaded file.
MAX_MARKDOWN_CHARS = MAX_ARTICLE_BYTES


@dataclass(frozen=True)
class LanguageState:
    """One shipped language on the editor page: its translation, if there is one."""

    code: str
    name: str
    translation: Any


def translation_states(campaign: Campaign) -> list[LanguageState]:
    return [
        LanguageState(code, NATIVE_NAMES[code], translations.translation_for(campaign, code))
        for code in PREFIXED_LANGUAGES
    ]


def translation_values(translation: Any) -> dict[str, Any]:
    """What the translation form shows: the saved translation, or empty fields."""
    if translation is None:
        return {}
    return {spec.name: getattr(translation, spec.name) for spec in TRANSLATION_FIELDS}


def translation_from_article(raw: bytes, slug: str) -> dict[str, str]:
    """The translated fields read from an uploaded file by the CLI's importer."""
    try:
        return translations.fields_from_article(raw, slug)
    except CampaignImportError as exc:
        raise CampaignEditError("article_file", str(exc)) from exc


def clean_translation(values: dict[str, Any]) -> dict[str, Any]:
    """The translated fields read and checked as the original's, or CampaignEditError."""
    return _clean_fields(TRANSLATION_FIELDS, values, _within_markdown_limit)


def _within_markdown_limit(name: str, value: Any) -> None:
    if name in LONG_FIELDS and len(value) > MAX_MARKDOWN_CHARS:
        limit = MAX_MARKDOWN_CHARS // 1024
        raise CampaignEditError(name, f"Keep this under {limit} KB of text.")


def save_translation(
    campaign: Campaign, language: str, values: dict[str, Any], actor: str
) -> translations.TranslationResult:
    """Create or update the campaign's article in `language` from the form, all or nothing
    (checked before anything is touched; the caller commits, or rolls back on an error)."""
    cleaned = clean_translation(values)
    before = translation_values(translations.translation_for(campaign, language))
    try:
        result = translations.save_translation(campaign, language, cleaned)
    except CampaignImportError as exc:
        raise CampaignEditError("", str(exc)) from exc
    db.session.flush()
    changes = {
        name: [_audit_value(name, before.get(name)), _audit_value(name, value)]
        for name, value in cleaned.items()
        if result.created or before.get(name) != value
    }
    if result.changed:
        action = f"campaign.translation_{'created' if result.created else 'updated'}"
        audit.record(actor, action, f"campaign:{campaign.slug}", language=language, changes=changes)
    return result


def delete_translation(campaign: Campaign, language: str, actor: str) -> bool:
    """Remove the campaign's article in `language` (its pages show the original with the note);
    False when there was none."""
    removed = translations.delete_translation(campaign, language)
    if removed is None:
        return False
    audit.record(
        actor,
        "campaign.translation_deleted",
        f"campaign:{campaign.slug}",
        language=language,
        title=removed.title,
    )
    return True


def public_pages_changed() -> None:
    """After a commit: this process's finished public pages are old (the others' expire within
    PAGE_SNAPSHOT_SECONDS; the page's ETag follows content_version and updated_at)."""
    snapshots().clear()
