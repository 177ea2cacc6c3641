"""Write the XBezahldienste OpenAPI document to docs/api/xbezahldienste.openapi.json.

The file is committed; `tests/api/xbezahldienste/test_openapi.py` fails when it drifts from
the code, so run this after changing an endpoint or a schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from rathauskasse.api.xbezahldienste.api import api

TARGET = Path("docs") / "api" / "xbezahldienste.openapi.json"


def document() -> dict[str, Any]:
    schema: dict[str, Any] = api.get_openapi_schema(path_prefix="/xbezahldienste/v1")
    return schema


def text() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = (
        "Schreibt das OpenAPI-Dokument der XBezahldienste-Schnittstelle nach "
        "docs/api/xbezahldienste.openapi.json."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(settings.BASE_DIR) / TARGET
        target.parent.mkdir(parents=True, exist_ok=True)
        content = text()
        target.write_text(content, encoding="utf-8")
        self.stdout.write(f"{target} ({len(content)} Zeichen)")
