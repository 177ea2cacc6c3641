"""A PDF writer that streams: page after page into a file object, in memory that does not grow.

reportlab (`core/pdf.py`) keeps every page of a document until `save()`, which suits a receipt
and not a print file of 10,000 letters. This writer sends each page to the file object as soon
as it is drawn and remembers only the offsets of what it wrote. What every page shares is
written once at the start: the fonts, the images, one resource dictionary.

- **Fonts** are TrueType files embedded whole (`FontFile2`) as CID fonts (`Identity-H`), with
  a `ToUnicode` map so that text can be searched and copied. The files are KERN's Fira Sans, cut
  down at build time to the Latin scripts (`tools/build_assets.py`), so no document needs a
  subset of its own, and a font's objects are the same bytes in every document.
- **Determinism**: no dates, no random ids; the trailer's `/ID` is a digest of the pages. The
  same pages give the same bytes, whatever the time.
- Text is normalised to NFC; a character the font lacks is drawn as its base letter (NFKD) or
  as "?". No shaping or kerning: Latin scripts need none.

Domain-free: it draws text, lines, rectangles, images and QR matrices at given coordinates (PDF
points, origin bottom left). Layouts live with their documents.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from fontTools.ttLib import TTFont
from PIL import Image

from rathauskasse.core import qr

MM = 72 / 25.4
A4 = (595.276, 841.89)
FONT_DIR = Path(settings.BASE_DIR) / "build" / "fonts"
REGULAR = "FiraSans-Regular"
BOLD = "FiraSans-Bold"


def _n(value: float) -> str:
    """A number as PDF wants it: short, at most two decimals."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _utf16(text: str) -> str:
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _stream(dictionary: str, data: bytes, *, compress: bool = True) -> bytes:
    if compress:
        data = zlib.compress(data, 6)
        dictionary += " /Filter /FlateDecode"
    return (
        b"<< "
        + f"{dictionary} /Length {len(data)}".encode()
        + b" >>\nstream\n"
        + data
        + (b"\nendstream")
    )


class MissingFont(RuntimeError):
    """The document fonts are built by `make assets` (tools/build_assets.py)."""


@dataclass(frozen=True, slots=True)
class Font:
    """A TrueType font with what layout and embedding need; load with `font(name)`."""

    name: str
    postscript_name: str
    units_per_em: int
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    italic_angle: float
    glyphs: dict[str, tuple[int, int]]  # character -> (glyph id, advance in font units)
    advances: tuple[int, ...]
    unicodes: dict[int, int]  # glyph id -> code point, for ToUnicode
    data: bytes = field(repr=False)
    #: Per character: its advance, and its glyph id as four hex digits (the hot path of text).
    advance_of: dict[str, int] = field(repr=False, default_factory=dict)
    hex_of: dict[str, str] = field(repr=False, default_factory=dict)

    def _glyph(self, char: str) -> tuple[int, int]:
        found = self.glyphs.get(char)
        if found is not None:
            return found
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if len(base) == 1 and base in self.glyphs:
            return self.glyphs[base]
        return self.glyphs["?"]

    def _units(self, text: str) -> int:
        try:
            return sum(map(self.advance_of.__getitem__, text))
        except KeyError:
            return sum(self._glyph(c)[1] for c in text)

    def width(self, text: str, size: float) -> float:
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        return self._units(text) * size / self.units_per_em

    def encode(self, text: str) -> str:
        """The text as hex glyph ids (Identity-H)."""
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        try:
            return "".join(map(self.hex_of.__getitem__, text))
        except KeyError:
            return "".join(f"{self._glyph(c)[0]:04x}" for c in text)

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Break `text` into lines no wider than `width` at spaces (a long word stays whole)."""
        limit = width * self.units_per_em / size
        space = self.advance_of.get(" ", 0)
        lines: list[str] = []
        for paragraph in unicodedata.normalize("NFC", text).split("\n"):
            current: list[str] = []
            used = 0
            for word in paragraph.split():
                units = self._units(word)
                if current and used + space + units > limit:
                    lines.append(" ".join(current))
                    current, used = [word], units
                else:
                    used += (space if current else 0) + units
                    current.append(word)
            lines.append(" ".join(current))
        return lines


@cache
def font(name: str) -> Font:
    path = FONT_DIR / f"{name}.ttf"
    if not path.is_file():
        raise MissingFont(f"{path} is missing: run `make assets`.")
    data = path.read_bytes()
    tt = TTFont(io.BytesIO(data))
    order = tt.getGlyphOrder()
    index = {glyph: i for i, glyph in enumerate(order)}
    metrics = tt["hmtx"].metrics
    advances = tuple(metrics[glyph][0] for glyph in order)
    glyphs: dict[str, tuple[int, int]] = {}
    unicodes: dict[int, int] = {}
    for code, glyph in sorted(tt.getBestCmap().items()):
        gid = index[glyph]
        glyphs[chr(code)] = (gid, advances[gid])
        unicodes.setdefault(gid, code)
    head, hhea, os2 = tt["head"], tt["hhea"], tt["OS/2"]
    return Font(
        name=name,
        postscript_name=tt["name"].getDebugName(6) or name,
        units_per_em=head.unitsPerEm,
        ascent=hhea.ascent,
        descent=hhea.descent,
        cap_height=getattr(os2, "sCapHeight", hhea.ascent),
        bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
        italic_angle=float(tt["post"].italicAngle),
        glyphs=glyphs,
        advances=advances,
        unicodes=unicodes,
        data=data,
        advance_of={char: advance for char, (_, advance) in glyphs.items()},
        hex_of={char: f"{gid:04x}" for char, (gid, _) in glyphs.items()},
    )


@dataclass(frozen=True, slots=True)
class Picture:
    """An image drawn on pages (a coat of arms): RGB pixels and, if any, an alpha mask."""

    width: int
    height: int
    rgb: bytes
    alpha: bytes | None

    @classmethod
    def open(cls, source: BinaryIO | Path, *, max_pixels: int = 400) -> Picture:
        with Image.open(source) as image:
            image.load()
            picture = image.convert("RGBA")
        picture.thumbnail((max_pixels, max_pixels))
        alpha = picture.getchannel("A")
        opaque = alpha.getextrema() == (255, 255)
        return cls(
            width=picture.width,
            height=picture.height,
            rgb=picture.convert("RGB").tobytes(),
            alpha=None if opaque else alpha.tobytes(),
        )


class Page:
    """The drawing operations of one page, collected as PDF content."""

    def __init__(self, size: tuple[float, float] = A4) -> None:
        self.size = size
        self._ops: list[str] = []
        self._links: list[tuple[tuple[float, float, float, float], str]] = []
        self._compressed: bytes | None = None

    def text(self, x: float, y: float, text: str, font: Font, size: float) -> None:
        if not text:
            return
        self._ops.append(
            f"BT /{font.name} {_n(size)} Tf 1 0 0 1 {_n(x)} {_n(y)} Tm <{font.encode(text)}> Tj ET"
        )

    def text_right(self, right: float, y: float, text: str, font: Font, size: float) -> None:
        self.text(right - font.width(text, size), y, text, font, size)

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.5) -> None:
        self._ops.append(f"{_n(width)} w {_n(x1)} {_n(y1)} m {_n(x2)} {_n(y2)} l S")

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        width: float = 0.5,
        grey: float | None = None,
    ) -> None:
        """A frame; with `grey` (0 black … 1 white) a filled area instead."""
        if grey is None:
            self._ops.append(f"{_n(width)} w {_n(x)} {_n(y)} {_n(w)} {_n(h)} re S")
        else:
            self._ops.append(f"q {_n(grey)} g {_n(x)} {_n(y)} {_n(w)} {_n(h)} re f Q")

    def qr(self, matrix: qr.Matrix, x: float, y: float, size: float) -> None:
        """A QR matrix (rows of 0/1, quiet zone excluded) as a square of `size` at (x, y)."""
        modules = len(matrix)
        rects = [
            f"{m.start()} {row} {m.end() - m.start()} 1 re"
            for row, cells in enumerate(matrix)
            for m in qr.DARK_RUN.finditer(cells)
        ]
        scale = size / modules
        # Module units, rows downwards from the top edge; touching rectangles leave no seams.
        self._ops.append(
            f"q 0 g {_n(scale)} 0 0 {_n(-scale)} {_n(x)} {_n(y + size)} cm "
            + " ".join(rects)
            + " f Q"
        )

    def image(self, name: str, x: float, y: float, w: float, h: float) -> None:
        self._ops.append(f"q {_n(w)} 0 0 {_n(h)} {_n(x)} {_n(y)} cm /{name} Do Q")

    def link(self, x: float, y: float, w: float, h: float, uri: str) -> None:
        """Make the area a link (the pay link on the letter opens in a PDF reader)."""
        self._links.append(((x, y, x + w, y + h), uri))

    def content(self) -> bytes:
        return "\n".join(self._ops).encode("ascii")

    def compressed(self) -> bytes:
        """The content stream, Flate-compressed once (a page may go into two documents)."""
        if self._compressed is None:
            self._compressed = zlib.compress(self.content(), 3)
        return self._compressed


class Writer:
    """Writes one PDF to `out`: fonts and images first, then every page as it comes, then the
    page tree and the cross-reference table. Use as a context manager or call `close()`."""

    def __init__(
        self,
        out: BinaryIO,
        *,
        title: str,
        author: str,
        subject: str = "",
        fonts: Iterable[Font] = (),
        pictures: dict[str, Picture] | None = None,
        size: tuple[float, float] = A4,
    ) -> None:
        self._out = out
        self._written = 0
        self._offsets: dict[int, int] = {}
        self._next = 4  # 1 catalog, 2 page tree (written last), 3 info
        self._kids: list[int] = []
        self._digest = hashlib.md5(usedforsecurity=False)
        self._size = size
        self._closed = False
        self._emit(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self._object(
            1,
            b"<< /Type /Catalog /Pages 2 0 R /Lang (de-DE) "
            b"/ViewerPreferences << /DisplayDocTitle true >> >>",
        )
        info = f"<< /Title {_utf16(title)} /Author {_utf16(author)} /Creator (Rathauskasse)"
        if subject:
            info += f" /Subject {_utf16(subject)}"
        self._object(3, (info + " >>").encode("ascii"))
        self._digest.update(info.encode())
        font_refs = [f"/{f.name} {self._font(f)} 0 R" for f in fonts]
        picture_refs = [
            f"/{name} {self._picture(picture)} 0 R" for name, picture in (pictures or {}).items()
        ]
        self._resources = self._add(
            (
                f"<< /ProcSet [/PDF /Text /ImageC] /Font << {' '.join(font_refs)} >> "
                f"/XObject << {' '.join(picture_refs)} >> >>"
            ).encode("ascii")
        )

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()

    @property
    def pages(self) -> int:
        return len(self._kids)

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._written += len(data)

    def _object(self, number: int, body: bytes) -> None:
        self._offsets[number] = self._written
        self._emit(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")

    def _add(self, body: bytes) -> int:
        number = self._next
        self._next += 1
        self._object(number, body)
        return number

    def _font(self, font: Font) -> int:
        for number, body in _font_objects(font, first=self._next):
            self._object(number, body)
        type0 = self._next
        self._next += 5
        return type0

    def _picture(self, picture: Picture) -> int:
        mask = ""
        if picture.alpha is not None:
            alpha = self._add(
                _stream(
                    f"/Type /XObject /Subtype /Image /Width {picture.width} "
                    f"/Height {picture.height} /ColorSpace /DeviceGray /BitsPerComponent 8",
                    picture.alpha,
                )
            )
            mask = f" /SMask {alpha} 0 R"
        return self._add(
            _stream(
                f"/Type /XObject /Subtype /Image /Width {picture.width} /Height {picture.height} "
                f"/ColorSpace /DeviceRGB /BitsPerComponent 8{mask}",
                picture.rgb,
            )
        )

    def add(self, page: Page) -> None:
        data = page.compressed()
        self._digest.update(data)
        contents = self._add(
            f"<< /Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode()
            + data
            + b"\nendstream"
        )
        annots = ""
        if page._links:
            links = " ".join(
                f"<< /Type /Annot /Subtype /Link /Border [0 0 0] "
                f"/Rect [{' '.join(_n(v) for v in rect)}] /A << /S /URI /URI ({_ascii(uri)}) >> >>"
                for rect, uri in page._links
            )
            annots = f" /Annots [{links}]"
        width, height = page.size
        self._kids.append(
            self._add(
                (
                    f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_n(width)} {_n(height)}] "
                    f"/Resources {self._resources} 0 R /Contents {contents} 0 R{annots} >>"
                ).encode("ascii")
            )
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        kids = " ".join(f"{k} 0 R" for k in self._kids)
        self._object(2, f"<< /Type /Pages /Kids [{kids}] /Count {len(self._kids)} >>".encode())
        xref = self._written
        size = self._next
        rows = ["xref", f"0 {size}", "0000000000 65535 f "]
        rows += [f"{self._offsets[n]:010d} 00000 n " for n in range(1, size)]
        identifier = self._digest.hexdigest().upper()
        rows += [
            "trailer",
            f"<< /Size {size} /Root 1 0 R /Info 3 0 R /ID [<{identifier}> <{identifier}>] >>",
            "startxref",
            str(xref),
            "%%EOF",
            "",
        ]
        self._emit("\n".join(rows).encode("ascii"))


def _ascii(uri: str) -> str:
    if not uri.isascii():
        raise ValueError("link targets must be ASCII (percent-encoded)")
    return uri.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


@cache
def _font_bodies(name: str) -> tuple[bytes, ...]:
    """The five objects of an embedded font, with placeholders for their numbers (cached)."""
    f = font(name)
    scale = 1000 / f.units_per_em
    widths = " ".join(str(round(a * scale)) for a in f.advances)
    x0, y0, x1, y1 = (round(v * scale) for v in f.bbox)
    cmap_rows = [
        f"<{gid:04X}> <{code:04X}>" for gid, code in sorted(f.unicodes.items()) if code < 0x10000
    ]
    chunks = [cmap_rows[i : i + 100] for i in range(0, len(cmap_rows), 100)]
    to_unicode = "\n".join(
        [
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange",
            *[f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar" for chunk in chunks],
            "endcmap CMapName currentdict /CMap defineresource pop end end",
        ]
    ).encode("ascii")
    ps = f.postscript_name
    return (
        f"<< /Type /Font /Subtype /Type0 /BaseFont /{ps} /Encoding /Identity-H "
        f"/DescendantFonts [{{cid}} 0 R] /ToUnicode {{tounicode}} 0 R >>".encode(),
        f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{ps} "
        f"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
        f"/FontDescriptor {{descriptor}} 0 R /CIDToGIDMap /Identity /DW 1000 "
        f"/W [0 [{widths}]] >>".encode(),
        f"<< /Type /FontDescriptor /FontName /{ps} /Flags 32 /FontBBox [{x0} {y0} {x1} {y1}] "
        f"/ItalicAngle {_n(f.italic_angle)} /Ascent {round(f.ascent * scale)} "
        f"/Descent {round(f.descent * scale)} /CapHeight {round(f.cap_height * scale)} "
        f"/StemV 80 /FontFile2 {{file}} 0 R >>".encode(),
        _stream(f"/Length1 {len(f.data)}", f.data),
        _stream("", to_unicode),
    )


def _font_objects(font: Font, *, first: int) -> list[tuple[int, bytes]]:
    type0, cid, descriptor, file, tounicode = range(first, first + 5)
    numbers = {
        "{cid}": cid,
        "{descriptor}": descriptor,
        "{file}": file,
        "{tounicode}": tounicode,
    }
    bodies = list(_font_bodies(font.name))
    for i in range(3):
        for placeholder, number in numbers.items():
            bodies[i] = bodies[i].replace(placeholder.encode(), str(number).encode())
    return list(zip((type0, cid, descriptor, file, tounicode), bodies, strict=True))


def document(
    pages: Iterable[Page],
    *,
    title: str,
    author: str,
    subject: str = "",
    fonts: Iterable[Font] = (),
    pictures: dict[str, Picture] | None = None,
) -> bytes:
    """A whole PDF in memory (one letter, a receipt-sized document)."""
    out = io.BytesIO()
    with Writer(
        out, title=title, author=author, subject=subject, fonts=fonts, pictures=pictures
    ) as writer:
        for page in pages:
            writer.add(page)
    return out.getvalue()
