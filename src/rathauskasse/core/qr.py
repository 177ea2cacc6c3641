"""QR codes as module matrices, for PDFs and pages alike.

Encoded by zxing-cpp (C++): byte mode, error correction M, the smallest version, the mask with
the lowest penalty as ISO/IEC 18004 asks, no ECI header. segno does the same in pure Python at
about 10 ms per GiroCode (2 ms with a fixed mask); a print file of 10,000 letters holds 20,000
codes, so letters and pages use the 0.3 ms encoder (decision 0022). The tests decode what it
draws, from the rendered PDF, and check error level M and the exact bytes.
"""

from __future__ import annotations

import re
from typing import Literal

import zxingcpp

Matrix = tuple[bytes, ...]
"""Rows of modules, 1 dark and 0 light, without the quiet zone (four modules on every side)."""

QUIET_ZONE = 4
DARK_RUN = re.compile(b"\x01+")


def matrix(data: bytes, *, error: Literal["L", "M", "Q", "H"] = "M") -> Matrix:
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level=error)
    image = code.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    pixels = bytes(memoryview(image))  # type: ignore[arg-type] # a buffer, untyped in its stubs
    dark = bytes.maketrans(bytes(range(256)), b"\x01" + b"\x00" * 255)
    return tuple(pixels[row * width : (row + 1) * width].translate(dark) for row in range(height))


def version(modules: Matrix) -> int:
    """The QR version (1-40) of a matrix: 17 + 4 x version modules on a side."""
    return (len(modules) - 17) // 4


def runs(modules: Matrix) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length): few shapes to draw."""
    return [
        (row, match.start(), match.end() - match.start())
        for row, cells in enumerate(modules)
        for match in DARK_RUN.finditer(cells)
    ]


def svg(modules: Matrix, *, title: str, module_px: int = 4) -> str:
    """A standalone SVG image (no script, no style) with its quiet zone and a title."""
    size = len(modules) + 2 * QUIET_ZONE
    path = "".join(f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{n}v1h-{n}z" for r, c, n in runs(modules))
    escaped = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'width="{size * module_px}" height="{size * module_px}" role="img" '
        f'shape-rendering="crispEdges"><title>{escaped}</title>'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
