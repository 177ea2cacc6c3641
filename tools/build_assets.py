"""Build the portal's static assets from the npm packages into `build/static/`.

KERN UX ships its stylesheet and the full Fira Sans family (about 130 KB per weight). The portal
uses three weights (400, 500, 600) and only Latin text, so each font is cut down to the characters
German, English and the usual typography need: a page with its assets then stays far below
150 KB. The output is generated, never committed; `make install` runs this after `npm ci`.

The same Fira Sans goes into the letters the platform prints (notices): as TrueType (`build/fonts/`,
not served), cut down to every Latin script a debtor's name may be written in, Vietnamese included
(Latin Extended-A/B and Additional), without hinting. Documents embed that file whole, so no
document needs a subset of its own (decision 0021).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
from pathlib import Path

from fontTools import subset

ROOT = Path(__file__).resolve().parents[1]
KERN = ROOT / "node_modules" / "@kern-ux" / "native" / "dist"
OUT = ROOT / "build" / "static" / "kern"

#: (file in the package, CSS font-weight)
WEIGHTS = (("FiraSans-Regular", 400), ("FiraSans-Medium", 500), ("FiraSans-SemiBold", 600))
#: Basic Latin, Latin-1 (umlauts, ß, §, ·), Latin Extended-A (names), € and typography.
UNICODES = "U+0020-007E,U+00A0-017F,U+2010-2027,U+2030-203A,U+20AC,U+2122,U+2212"
DOCUMENT_FONTS = ROOT / "build" / "fonts"
#: (file in the package, name in build/fonts): the two weights letters use.
DOCUMENT_WEIGHTS = (
    ("FiraSans-Regular", "FiraSans-Regular"),
    ("FiraSans-SemiBold", "FiraSans-Bold"),
)
#: Latin in every European and Vietnamese spelling: Latin-1, Extended-A and -B, IPA-free
#: Extended Additional (Vietnamese), spacing modifiers, punctuation, currency signs.
DOCUMENT_UNICODES = (
    "U+0020-007E,U+00A0-024F,U+02C6-02DD,U+1E00-1EFF,U+2010-2027,U+2030-203A,U+20AC,U+2116,"
    "U+2122,U+2212"
)


def build() -> None:
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    if not KERN.is_dir():
        sys.exit("node_modules/@kern-ux/native is missing: run `npm ci` first.")
    fonts = OUT / "fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(KERN / "kern.min.css", OUT / "kern.min.css")
    faces = []
    for name, weight in WEIGHTS:
        target = fonts / f"{name}-latin.woff2"
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["kern", "liga", "tnum", "lnum"]
        options.name_IDs = ["*"]
        font = subset.load_font(str(KERN / "fonts" / "fira-sans" / f"{name}.woff2"), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
        subsetter.subset(font)
        subset.save_font(font, str(target), options)
        faces.append(
            "@font-face{font-family:'Fira Sans';font-style:normal;font-display:swap;"
            f"font-weight:{weight};src:url('fonts/{target.name}') format('woff2');"
            f"unicode-range:{UNICODES}}}"
        )
    (OUT / "fonts.css").write_text("\n".join(faces) + "\n", encoding="utf-8")
    _document_fonts()
    digest = hashlib.sha256((OUT / "kern.min.css").read_bytes()).hexdigest()[:12]
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"assets: build/static/kern ({size // 1024} KB, kern.min.css {digest})")  # noqa: T201


def _document_fonts() -> None:
    """TrueType for the PDF letters: glyph outlines only, no layout tables or hinting."""
    DOCUMENT_FONTS.mkdir(parents=True, exist_ok=True)
    for source, name in DOCUMENT_WEIGHTS:
        options = subset.Options()
        options.flavor = None
        options.layout_features = []
        options.hinting = False
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = subset.load_font(str(KERN / "fonts" / "fira-sans" / f"{source}.woff2"), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=subset.parse_unicodes(DOCUMENT_UNICODES))
        subsetter.subset(font)
        font.flavor = None
        subset.save_font(font, str(DOCUMENT_FONTS / f"{name}.ttf"), options)


if __name__ == "__main__":
    build()
