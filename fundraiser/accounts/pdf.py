"""The yearly giving statement as a PDF (fpdf2), in a Unicode font when the system has one."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from flask_babel import gettext as _
from fpdf import FPDF

from fundraiser.accounts.giving import Statement, local_date
from fundraiser.accounts.status_words import gift_status_word
from fundraiser.i18n import medium_date, rendering_language
from fundraiser.money import format_money

#: DejaVu covers € £ and accented names; Debian's fonts-dejavu-core puts it here.
UNICODE_FONTS = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
]
_CORE_REPLACEMENTS = {"€": "EUR ", "£": "GBP ", "—": "-", "–": "-", "’": "'", "“": '"', "”": '"'}


class _StatementPDF(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.unicode = False
        for path in UNICODE_FONTS:
            if path.exists():
                self.add_font("Body", "", str(path))
                bold = path.with_name("DejaVuSans-Bold.ttf")
                self.add_font("Body", "B", str(bold if bold.exists() else path))
                self.unicode = True
                break
        self.family = "Body" if self.unicode else "Helvetica"

    def text_for(self, value: str) -> str:
        """Core fonts only know Latin-1: spell out currency signs, strip what remains."""
        if self.unicode:
            return value
        for char, replacement in _CORE_REPLACEMENTS.items():
            value = value.replace(char, replacement)
        value = unicodedata.normalize("NFKD", value)
        return value.encode("latin-1", "ignore").decode("latin-1")

    def write_cell(self, width: float, text: str, *, bold=False, align="L", new_line=False):
        self.set_font(self.family, "B" if bold else "", 10)
        self.cell(
            width,
            7,
            self.text_for(text),
            align=align,
            new_x="LMARGIN" if new_line else "RIGHT",
            new_y="NEXT" if new_line else "TOP",
        )


def statement_pdf(statement: Statement, name: str, email: str, site_name: str) -> bytes:
    pdf = _StatementPDF()
    pdf.set_title(_("Giving statement %(year)s", year=statement.year))
    pdf.set_author(site_name)
    pdf.set_lang(rendering_language())
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 16)
    pdf.cell(
        0,
        10,
        pdf.text_for(
            _("%(site_name)s: giving statement %(year)s", site_name=site_name, year=statement.year)
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.family, "", 10)
    pdf.cell(
        0, 6, pdf.text_for(_("For %(name)s", name=name or email)), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.ln(4)
    columns = [
        (_("Date"), 28, "L"),
        (_("Campaign"), 82, "L"),
        (_("Type"), 22, "L"),
        (_("Status"), 28, "L"),
        (_("Amount"), 30, "R"),
    ]
    for title, width, align in columns:
        pdf.write_cell(width, title, bold=True, align=align)
    pdf.ln(7)
    for gift in statement.gifts:
        entry = gift.entry
        title = entry.campaign.title
        if len(title) > 44:
            title = title[:43] + "…"
        values = [
            medium_date(local_date(entry.occurred_at)),
            title,
            _("Recurring") if gift.recurring else _("One-off"),
            gift_status_word(gift.status),
            format_money(entry.amount_minor, entry.currency),
        ]
        for (_title, width, align), value in zip(columns, values, strict=True):
            pdf.write_cell(width, value, align=align)
        pdf.ln(7)
    pdf.ln(3)
    if not statement.gifts:
        pdf.write_cell(0, _("No gifts were recorded in this year."), new_line=True)
    for currency, total in statement.totals.items():
        pdf.write_cell(
            160,
            _(
                "Total given in %(year)s (%(currency)s), after refunds",
                year=statement.year,
                currency=currency,
            ),
            bold=True,
        )
        pdf.write_cell(30, format_money(total, currency), bold=True, align="R", new_line=True)
    pdf.ln(6)
    pdf.set_font(pdf.family, "", 8)
    pdf.multi_cell(
        0,
        5,
        pdf.text_for(
            _(
                "This statement lists the payments recorded for your account. Card payments "
                "were processed by Stripe. Keep it for your records."
            )
        ),
    )
    return bytes(pdf.output())
