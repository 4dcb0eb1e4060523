"""One supporter as staff see them, beyond their gifts: what each checkout said (anonymity,
message, fee cover) and the staff's own notes about them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from fundraiser.dashboard import audit
from fundraiser.dashboard.supporters import SupporterDetail
from fundraiser.extensions import db
from fundraiser.i18n import DEFAULT_LANGUAGE
from fundraiser.models import DonationIntent, StaffNote, Supporter

#: Longest note staff may keep about a supporter.
MAX_NOTE_CHARS = 2000


@dataclass
class SupporterExtras:
    #: The checkout behind each gift, by LedgerEntry.intent_id (gifts made at Stripe directly,
    #: such as renewals, have none: their anonymity and message are the first gift's).
    intents: dict[int, DonationIntent] = field(default_factory=dict)
    notes: list[StaffNote] = field(default_factory=list)
    #: Note authors' emails by supporter id.
    authors: dict[int, str] = field(default_factory=dict)

    @property
    def gave_anonymously(self) -> bool:
        return any(intent.anonymous for intent in self.intents.values())

    @property
    def messages(self) -> list[DonationIntent]:
        return [i for i in self.intents.values() if i.message.strip()]

    def language(self, account: Supporter | None) -> str:
        """The language we write to them in: their account's, else the page of their latest
        checkout's (a guest's receipt follows it), else English."""
        if account is not None and account.language:
            return account.language
        latest = max(self.intents.values(), key=lambda intent: intent.id, default=None)
        return (latest.language if latest is not None else None) or DEFAULT_LANGUAGE


def supporter_extras(detail: SupporterDetail) -> SupporterExtras:
    ids = {e.intent_id for e in detail.entries if e.intent_id}
    intents = {}
    if ids:
        found = db.session.scalars(select(DonationIntent).where(DonationIntent.id.in_(ids)))
        intents = {intent.id: intent for intent in found}
    notes = list(
        db.session.scalars(
            select(StaffNote)
            .where(StaffNote.email == detail.email)
            .order_by(StaffNote.created_at.desc(), StaffNote.id.desc())
        )
    )
    author_ids = {n.author_id for n in notes if n.author_id}
    authors = {}
    if author_ids:
        rows = db.session.execute(
            select(Supporter.id, Supporter.email).where(Supporter.id.in_(author_ids))
        )
        authors = {author_id: email or f"staff #{author_id}" for author_id, email in rows}
    return SupporterExtras(intents, notes, authors)


def add_note(email: str, body: str, author: Supporter) -> StaffNote:
    """Keep a note about the supporter `email`; the caller commits."""
    note = StaffNote(email=email.strip().lower(), body=body.strip(), author_id=author.id)
    db.session.add(note)
    db.session.flush()
    audit.record(audit.staff_actor(author), "supporter.note_added", f"supporter:{note.email}")
    return note
