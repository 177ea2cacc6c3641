"""The notice letter: a DIN 5008 form B page for a window envelope, drawn from `LetterContent`.

Geometry (millimetres from the top left of A4): letterhead 0-45; address field at 20/45, 85 x 45
(return line in its first 17.7 mm, the address below); information block at 125/50; fold marks
at 105 and 210, the punch mark at 148.5; subject from 98.5; text 25 mm from the left and at
most 165 mm wide. The payment box (pay-link QR code, GiroCode, bank details in words) stands at
the foot of the last page; a letter with many lines continues on further pages.

`LetterContent` is everything the letter shows, as plain JSON-ready values: a notice stores it,
and the same content always draws the same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO

from django.core.files.storage import default_storage

from rathauskasse.core import pdfstream, qr
from rathauskasse.core.money import Money
from rathauskasse.core.pdfstream import MM, Font, Page, Picture

LAYOUT = 1
PAGE_HEIGHT = pdfstream.A4[1]
LEFT = 25 * MM
RIGHT = 190 * MM
WIDTH = RIGHT - LEFT
#: Flowing content ends here on a page; on the last page the payment box starts at BOX_TOP.
FLOW_END = 278
BOX_TOP = 214
BOX_HEIGHT = 62


@dataclass(frozen=True, slots=True)
class LetterContent:
    """What one letter shows. Amounts in cents; dates already in words ("01.12.2026")."""

    title: str
    organisation: str
    department: str
    letterhead: tuple[str, ...]
    sender_line: str
    address: tuple[str, ...]
    info: tuple[tuple[str, str], ...]
    subject: str
    body: str
    lines: tuple[tuple[int, str, int], ...]
    total_cents: int
    open_cents: int
    due_date: str
    pay_url: str
    girocode: str
    bank: tuple[tuple[str, str], ...]
    footer: tuple[str, ...]
    kassenzeichen: str
    arms: str = ""
    layout: int = LAYOUT

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return [plain(v) for v in value] if isinstance(value, tuple) else value

        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LetterContent:
        def tuples(value: Any) -> Any:
            if isinstance(value, list):
                return tuple(tuples(v) for v in value)
            return value

        return cls(**{key: tuples(value) for key, value in data.items()})


def y(mm_from_top: float) -> float:
    """PDF's y (points from the bottom) of a position given in mm from the top edge."""
    return PAGE_HEIGHT - mm_from_top * MM


def fonts() -> tuple[Font, Font]:
    return pdfstream.font(pdfstream.REGULAR), pdfstream.font(pdfstream.BOLD)


@lru_cache(maxsize=16)
def _picture(name: str) -> Picture | None:
    if not name or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle:
        return Picture.open(handle)  # type: ignore[arg-type] # a binary file of the storage


def pictures(contents: Iterable[LetterContent]) -> dict[str, Picture]:
    """The images the letters need, named as the pages draw them (each file once)."""
    found: dict[str, Picture] = {}
    for content in contents:
        picture = _picture(content.arms)
        if picture is not None:
            found.setdefault(_image_name(content.arms), picture)
    return found


def _image_name(storage_name: str) -> str:
    return "Im" + "".join(c for c in storage_name if c.isalnum())[-40:]


def _wrap_anywhere(text: str, font: Font, size: float, width: float) -> list[str]:
    """For addresses without spaces (the pay link): break where the line is full."""
    lines, current, used = [], "", 0.0
    for char in text:
        advance = font.width(char, size)
        if current and used + advance > width:
            lines.append(current)
            current, used = char, advance
        else:
            current += char
            used += advance
    return [*lines, current] if current else lines


Draw = Callable[[Page, float], None]


def _space(_page: Page, _top: float) -> None:
    """Nothing to draw: vertical space."""


class _Flow:
    """Places blocks of known height one below the other, page after page."""

    def __init__(self, first_top: float, next_top: float) -> None:
        self.pages: list[list[tuple[float, Draw]]] = [[]]
        self.top = first_top
        self.next_top = next_top

    def add(self, height: float, draw: Draw) -> None:
        if self.top + height > FLOW_END and self.pages[-1]:
            self.pages.append([])
            self.top = self.next_top
        self.pages[-1].append((self.top, draw))
        self.top += height


def pages(content: LetterContent) -> list[Page]:
    regular, bold = fonts()
    c = content
    flow = _Flow(first_top=97, next_top=30)

    def text_at(font: Font, size: float, text: str, x: float = LEFT) -> Draw:
        return lambda page, top: page.text(x, y(top) - size * 0.8, text, font, size)

    flow.add(8, text_at(bold, 14, c.title))
    for line in bold.wrap(c.subject, 10.5, WIDTH):
        flow.add(5, text_at(bold, 10.5, line))
    flow.add(4, _space)
    for paragraph in c.body.split("\n"):
        if not paragraph.strip():
            flow.add(2.2, _space)
            continue
        for line in regular.wrap(paragraph, 10, WIDTH):
            flow.add(4.5, text_at(regular, 10, line))
    flow.add(3, _space)

    def header(page: Page, top: float) -> None:
        page.text(LEFT, y(top) - 7, "Pos.", bold, 9)
        page.text(LEFT + 14 * MM, y(top) - 7, "Leistung", bold, 9)
        page.text_right(RIGHT, y(top) - 7, "Betrag", bold, 9)
        page.line(LEFT, y(top + 4.5), RIGHT, y(top + 4.5), width=0.6)

    flow.add(6.5, header)
    for position, text, cents in c.lines:
        wrapped = regular.wrap(text, 10, WIDTH - 45 * MM)

        def row(
            page: Page, top: float, p: int = position, w: list[str] = wrapped, a: int = cents
        ) -> None:
            page.text(LEFT, y(top) - 8, str(p), regular, 10)
            for i, part in enumerate(w):
                page.text(LEFT + 14 * MM, y(top + i * 4.6) - 8, part, regular, 10)
            page.text_right(RIGHT, y(top) - 8, Money(a).format_de(), regular, 10)

        flow.add(1.2 + 4.6 * len(wrapped), row)

    def totals(page: Page, top: float) -> None:
        page.line(LEFT, y(top + 0.5), RIGHT, y(top + 0.5), width=0.6)
        rows: list[tuple[str, int, Font]] = []
        paid = c.total_cents - c.open_cents
        if paid:
            rows += [("Summe", c.total_cents, regular), ("bereits gezahlt", -paid, regular)]
        rows.append(("Zu zahlen", c.open_cents, bold))
        for i, (label, cents, font) in enumerate(rows):
            baseline = y(top + 1.5 + i * 5) - 9
            page.text(LEFT + 14 * MM, baseline, label, font, 10)
            page.text_right(RIGHT, baseline, Money(cents).format_de(), font, 10)
        baseline = y(top + 1.5 + len(rows) * 5) - 9
        page.text(LEFT + 14 * MM, baseline, "zahlbar bis", bold, 10)
        page.text_right(RIGHT, baseline, c.due_date, bold, 10)

    paid_rows = 2 if c.total_cents != c.open_cents else 0
    flow.add(8 + 5 * (paid_rows + 1), totals)

    sheets = flow.pages
    if flow.top > BOX_TOP - 2:
        sheets.append([])
    drawn: list[Page] = []
    for number, placed in enumerate(sheets, start=1):
        page = Page()
        _frame(page, c, number=number, count=len(sheets), regular=regular, bold=bold)
        for top, draw in placed:
            draw(page, top)
        if number == len(sheets):
            _payment_box(page, c, regular=regular, bold=bold)
        drawn.append(page)
    return drawn


def _frame(
    page: Page, c: LetterContent, *, number: int, count: int, regular: Font, bold: Font
) -> None:
    """Letterhead, address and information block (first page), marks, footer, page number."""
    for mark in (105, 210):
        page.line(3 * MM, y(mark), 7 * MM, y(mark), width=0.4)
    page.line(3 * MM, y(148.5), 9 * MM, y(148.5), width=0.4)
    if c.arms and _picture(c.arms) is not None:
        page.image(_image_name(c.arms), 171 * MM, y(32), 19 * MM, 22 * MM)
    if number == 1:
        page.text(LEFT, y(20), c.organisation, bold, 15)
        page.text(LEFT, y(26), c.department, regular, 10.5)
        for i, line in enumerate(c.letterhead):
            page.text_right(166 * MM if c.arms else RIGHT, y(14 + i * 3.8), line, regular, 8)
        page.text(LEFT, y(50), c.sender_line, regular, 7)
        page.line(LEFT, y(51), LEFT + regular.width(c.sender_line, 7), y(51), width=0.3)
        for i, line in enumerate(c.address[:9]):
            page.text(LEFT, y(66 + i * 4.3), line, regular, 10)
        top = 50.0
        for label, value in c.info:
            page.text(125 * MM, y(top) - 6, label, regular, 7.5)
            is_kz = label == "Kassenzeichen"
            page.text(
                125 * MM, y(top + 3.2) - 8, value, bold if is_kz else regular, 11 if is_kz else 9.5
            )
            top += 8.2
    else:
        page.text(LEFT, y(18), f"{c.title} – Kassenzeichen {c.kassenzeichen}", regular, 9)
    if count > 1:
        page.text_right(RIGHT, y(284), f"Seite {number} von {count}", regular, 8)
    page.line(LEFT, y(286.5), RIGHT, y(286.5), width=0.3)
    for i, line in enumerate(c.footer):
        page.text(LEFT, y(289.5 + i * 3.2), line, regular, 7)


def _payment_box(page: Page, c: LetterContent, *, regular: Font, bold: Font) -> None:
    top = BOX_TOP
    page.rect(20 * MM, y(top + BOX_HEIGHT), 170 * MM, BOX_HEIGHT * MM, width=0.8)
    page.text(LEFT, y(top + 7), "So bezahlen Sie", bold, 11.5)
    page.text_right(RIGHT - 2 * MM, y(top + 7), f"Kassenzeichen {c.kassenzeichen}", bold, 11.5)
    code_top = top + 11
    # Online: the pay link, at least 25 mm.
    page.qr(qr.matrix(c.pay_url.encode("ascii")), LEFT, y(code_top + 27), 27 * MM)
    page.link(LEFT, y(code_top + 27), 27 * MM, 27 * MM, c.pay_url)
    page.text(LEFT, y(code_top + 31.5), "Online bezahlen", bold, 9)
    page.text(LEFT, y(code_top + 35.5), "Code scannen oder aufrufen:", regular, 7.5)
    for i, part in enumerate(_wrap_anywhere(c.pay_url, regular, 7, 50 * MM)[:3]):
        page.text(LEFT, y(code_top + 39 + i * 3), part, regular, 7)
    # Banking app: the GiroCode.
    giro_x = 80 * MM
    page.qr(qr.matrix(c.girocode.encode("utf-8")), giro_x, y(code_top + 30), 30 * MM)
    page.text(giro_x, y(code_top + 34.5), "GiroCode", bold, 9)
    page.text(giro_x, y(code_top + 38.5), "mit der Banking-App scannen", regular, 7.5)
    # By hand: the bank details in words.
    x = 118 * MM
    page.text(x, y(code_top + 3), "Überweisung", bold, 9)
    row = code_top + 8.5
    for label, value in c.bank:
        page.text(x, y(row), label, regular, 7.5)
        parts = regular.wrap(value, 9, RIGHT - x - 2 * MM)
        for i, part in enumerate(parts):
            page.text(x, y(row + 3.8 + i * 3.8), part, bold if label == "Betrag" else regular, 9)
        row += 4.2 + 3.8 * len(parts)


def render(content: LetterContent, drawn: list[Page] | None = None) -> bytes:
    """The letter as a PDF of its own (download, e-mail attachment); `drawn`: its pages."""
    return pdfstream.document(
        drawn if drawn is not None else pages(content),
        title=f"{content.title} {content.kassenzeichen}",
        author=content.organisation,
        subject=content.subject,
        fonts=fonts(),
        pictures=pictures([content]),
    )


class PrintFile:
    """Many letters in one PDF, written to `out` letter by letter (print runs)."""

    def __init__(self, out: BinaryIO, *, title: str, author: str, arms: Iterable[str]) -> None:
        self._writer = pdfstream.Writer(
            out,
            title=title,
            author=author,
            fonts=fonts(),
            pictures={
                _image_name(name): picture
                for name in dict.fromkeys(arms)
                if (picture := _picture(name)) is not None
            },
        )
        self.letters = 0

    def add(self, drawn: list[Page]) -> None:
        """One letter's pages (`pages(content)`)."""
        for page in drawn:
            self._writer.add(page)
        self.letters += 1

    @property
    def pages(self) -> int:
        return self._writer.pages

    def close(self) -> None:
        self._writer.close()
