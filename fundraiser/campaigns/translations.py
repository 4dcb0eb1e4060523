"""A campaign's article in other languages: imported like the original, shown by language.

`flask campaign import PATH --slug SLUG --lang de` parses the file with the same importer
(and so the same Markdown escaping and sanitiser) as the original and keeps it beside the
campaign; the figures, ladders and photo stay the campaign's own. The staff editor
(/staff/campaigns/<slug>/translations/<lang>) saves and deletes through the same functions.
A page in a language with no article of its own shows the original, with a note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from fundraiser.campaigns.importer import ArticleFormatError, parse_article
from fundraiser.campaigns.services import CampaignImportError, campaign_by_slug, validate_slug
from fundraiser.extensions import db
from fundraiser.i18n import DEFAULT_LANGUAGE, PREFIXED_LANGUAGES
from fundraiser.models import Campaign, CampaignTranslation

#: The language campaigns are written in (the original article's).
ORIGINAL_LANGUAGE = DEFAULT_LANGUAGE
#: The fields a translation replaces.
TRANSLATED_FIELDS = ("title", "body_markdown", "appeal_markdown", "photo_caption")


@dataclass(frozen=True)
class TranslationResult:
    campaign: Campaign
    translation: CampaignTranslation
    created: bool
    changed: bool


def check_language(language: str) -> str:
    """A shipped language other than the original's, or CampaignImportError saying why."""
    language = (language or "").strip().lower()
    if language == ORIGINAL_LANGUAGE:
        raise CampaignImportError(
            f"{language!r} is the original's language: import it without --lang."
        )
    if language not in PREFIXED_LANGUAGES:
        shipped = ", ".join(PREFIXED_LANGUAGES)
        raise CampaignImportError(f"Unknown language {language!r}; use one of {shipped}.")
    return language


def fields_from_article(raw: bytes, slug: str) -> dict[str, str]:
    """The translated fields as the importer reads them from a plain-text article (the same
    Markdown escaping as the original's); CampaignImportError when it is no article."""
    try:
        article = parse_article(raw, slug)
    except ArticleFormatError as exc:
        raise CampaignImportError(str(exc)) from exc
    return {name: getattr(article, name) for name in TRANSLATED_FIELDS}


def import_translation(path: Path, slug: str, language: str) -> TranslationResult:
    """Store (or update) the campaign's article in `language`, all or nothing."""
    language = check_language(language)
    slug = validate_slug(slug)
    campaign = campaign_by_slug(slug)
    if campaign is None:
        raise CampaignImportError(
            f"There is no campaign {slug!r}: import the original article first."
        )
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CampaignImportError(f"Cannot read {path}: {exc.strerror}") from exc
    return save_translation(campaign, language, fields_from_article(raw, slug))


def save_translation(
    campaign: Campaign, language: str, fields: dict[str, str]
) -> TranslationResult:
    """Create or update the campaign's article in `language` from checked `fields` (every
    name in TRANSLATED_FIELDS), in the caller's transaction: the CLI's import and the staff
    editor both save through here."""
    language = check_language(language)
    translation = translation_for(campaign, language)
    created = translation is None
    if created:
        translation = CampaignTranslation(campaign_id=campaign.id, language=language)
        db.session.add(translation)
    fields = {name: fields[name] for name in TRANSLATED_FIELDS}
    changed = created or any(getattr(translation, k) != v for k, v in fields.items())
    for key, value in fields.items():
        setattr(translation, key, value)
    if changed:
        # The page's ETag and rendered copies follow content_version, as for the original.
        campaign.content_version = (campaign.content_version or 0) + 1
    return TranslationResult(campaign, translation, created, changed)


def delete_translation(campaign: Campaign, language: str) -> CampaignTranslation | None:
    """Remove the campaign's article in `language` (its pages show the original again, with
    the note), in the caller's transaction; the removed row, or None when there was none."""
    translation = translation_for(campaign, check_language(language))
    if translation is None:
        return None
    db.session.delete(translation)
    campaign.content_version = (campaign.content_version or 0) + 1
    return translation


def translation_for(campaign: Campaign, language: str) -> CampaignTranslation | None:
    if language == ORIGINAL_LANGUAGE:
        return None
    return db.session.scalar(
        select(CampaignTranslation).where(
            CampaignTranslation.campaign_id == campaign.id,
            CampaignTranslation.language == language,
        )
    )


def languages_of(campaign: Campaign) -> list[str]:
    """The languages the campaign's article exists in, the original first."""
    found = db.session.scalars(
        select(CampaignTranslation.language)
        .where(CampaignTranslation.campaign_id == campaign.id)
        .order_by(CampaignTranslation.language)
    ).all()
    return [ORIGINAL_LANGUAGE, *found]


class LocalizedCampaign:
    """The campaign as a page in one language shows it: the translated article where there
    is one, everything else (slug, figures, photo, state) the campaign's own."""

    def __init__(self, campaign: Campaign, translation: CampaignTranslation | None) -> None:
        self._campaign = campaign
        self._translation = translation
        #: The language the article is shown in (for lang="…" on it).
        self.article_language = translation.language if translation else ORIGINAL_LANGUAGE

    def __getattr__(self, name: str):
        if self._translation is not None and name in TRANSLATED_FIELDS:
            return getattr(self._translation, name)
        return getattr(self._campaign, name)


def localized(campaign: Campaign, language: str) -> LocalizedCampaign:
    return LocalizedCampaign(campaign, translation_for(campaign, language))
