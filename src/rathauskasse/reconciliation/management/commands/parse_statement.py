"""`manage.py parse_statement FILE [--csv-profile NAME]`: check a bank's file before importing it.

Prints every parsed line as one JSON object per line (amounts in signed cents, credits
positive) and touches no database, so the cash office can try a new bank's export on any
machine. An unreadable file prints the German reason on stderr and exits with status 1.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathauskasse.reconciliation.lines import StatementError
from rathauskasse.reconciliation.parsers import BUILTIN_PROFILES, parse


class Command(BaseCommand):
    help = (
        "Liest einen Kontoauszug (camt.052/053/054, MT940 oder CSV) und gibt jeden Umsatz als "
        "eine JSON-Zeile aus, ohne etwas zu speichern."
    )
    requires_system_checks: list[str] = []  # noqa: RUF012 - Django's own attribute type
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="die Auszugsdatei")
        parser.add_argument(
            "--csv-profile",
            choices=[profile.name for profile in BUILTIN_PROFILES],
            help="das CSV-Profil, wenn die Datei eine CSV-Datei ist",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        profile = next(
            (p for p in BUILTIN_PROFILES if p.name == options["csv_profile"]),
            None,
        )
        count = 0
        try:
            for line in parse(options["file"], csv_profile=profile):
                self.stdout.write(json.dumps(line.as_json(), ensure_ascii=False))
                count += 1
        except StatementError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"{count} Umsätze gelesen.")
