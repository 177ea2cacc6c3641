"""Write the REST API's OpenAPI document to docs/api/openapi.json (committed; a test compares)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from rathauskasse.api.v1.urls import api


def document() -> dict[str, Any]:
    schema: dict[str, Any] = api.get_openapi_schema(path_prefix="/api/v1")
    return schema


class Command(BaseCommand):
    help = "Schreibt das OpenAPI-Dokument der REST-API nach docs/api/openapi.json."

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(settings.BASE_DIR) / "docs" / "api" / "openapi.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        target.write_text(text, encoding="utf-8")
        self.stdout.write(f"{target} ({len(text)} Zeichen)")
