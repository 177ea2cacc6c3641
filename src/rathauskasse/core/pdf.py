"""What every PDF of the platform shares: embedded fonts, styles, reproducible output.

Fonts are embedded (Bitstream Vera, shipped with reportlab: Latin-1 plus €, typographic quotes
and dashes), so a document looks the same on every reader and printer. Documents are written in
reportlab's invariant mode: no creation time, no random ids, so the same input gives the same
bytes, and a receipt downloaded twice is the same file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, SimpleDocTemplate

REGULAR = "Vera"
BOLD = "Vera-Bold"


@cache
def register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(REGULAR, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFontFamily(
        REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD
    )


register_fonts()  # styles and paragraphs look fonts up when they are built


class Styles:
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=10, leading=14)
    small = ParagraphStyle("small", fontName=REGULAR, fontSize=8, leading=11)
    heading = ParagraphStyle("heading", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4 * mm)
    right = ParagraphStyle("right", parent=body, alignment=TA_RIGHT)
    bold = ParagraphStyle("bold", parent=body, fontName=BOLD)


RULE_COLOUR = colors.HexColor("#4d4d4d")


def render(story: Sequence[Flowable], *, title: str, author: str, subject: str = "") -> bytes:
    """Lay out `story` on A4 and return the PDF bytes (identical for identical input)."""
    register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=author,
        subject=subject,
        creator="Rathauskasse",
        lang="de-DE",
        invariant=1,
    )
    document.build(list(story))
    return buffer.getvalue()
