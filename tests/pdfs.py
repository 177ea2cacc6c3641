"""Reading what a PDF shows, as a person (or a scanner) would: text, and the QR codes on it.

Pages are rendered with pdftoppm and the text extracted with pdftotext (Debian's poppler-utils);
QR codes are decoded with zxing-cpp.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: apt-get install poppler-utils")
    return path


def text(pdf: bytes) -> str:
    """The text of every page, pages separated by a form feed."""
    return subprocess.run(  # noqa: S603 - a fixed tool on our own bytes
        [_tool("pdftotext"), "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")


def page_images(pdf: bytes, *, dpi: int = 150) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(  # noqa: S603
            [_tool("pdftoppm"), "-r", str(dpi), "-gray", "-png", str(source), f"{folder}/page"],
            check=True,
        )
        images = []
        for path in sorted(Path(folder).glob("page*.png")):
            with Image.open(path) as image:
                images.append(image.copy())
        return images


def qr_codes(pdf: bytes, *, page: int = -1) -> list[zxingcpp.Barcode]:
    """The QR codes on one page (the last, where the payment box is), left to right."""
    image = page_images(pdf)[page]
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return sorted(found, key=lambda code: code.position.top_left.x)


def tool_output(name: str, pdf: bytes) -> str:
    """What a poppler tool (pdffonts, pdfimages -list, pdfinfo) says about the PDF."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        args = [_tool(name), *(["-list"] if name == "pdfimages" else []), str(source)]
        return subprocess.run(args, capture_output=True, check=True, text=True).stdout  # noqa: S603
