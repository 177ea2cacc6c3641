"""`manage.py import_open_items FILE.csv --profile NAME [--print OUT.pdf]`: import open items.

All or nothing: prints how many receivables it created (and their sum), that the file was
imported before, or every refused row with the reason, and then exits with status 1. With
`--print`, the import's Zahlungsaufforderungen go into one PDF in the order of the postal codes
(also for a file imported before: its letters are printed again, nothing is issued twice).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathauskasse.core import audit
from rathauskasse.core.errors import DomainError
from rathauskasse.finance import selectors, services
from rathauskasse.organisations import selectors as organisation_selectors


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unbekannt"


class Command(BaseCommand):
    help = (
        "Importiert offene Posten (Forderungen mit Kassenzeichen) aus einer CSV-Datei des "
        "Finanzverfahrens: ganz oder gar nicht, dieselbe Datei nur einmal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="die CSV-Datei")
        parser.add_argument("--profile", required=True, help="Kurzname des Profils")
        parser.add_argument(
            "--organisation",
            help="Kurzname (slug) der Organisation; nötig, wenn mehrere ein Profil dieses "
            "Namens haben",
        )
        parser.add_argument(
            "--print",
            dest="print_to",
            metavar="OUT.pdf",
            help="die Zahlungsaufforderungen des Imports als eine PDF-Datei (Druckdatei) schreiben",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Die Datei {path} lässt sich nicht lesen: {exc.strerror}.") from exc
        try:
            organisation = None
            if options["organisation"]:
                organisation = organisation_selectors.get_organisation(slug=options["organisation"])
            profile = selectors.find_profile(name=options["profile"], organisation=organisation)
            actor = audit.Actor(label=f"manage.py import_open_items ({_operator()})")
            result = services.import_open_items(
                organisation=profile.organisation,
                profile=profile,
                data=data,
                filename=path.name,
                actor=actor,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        summary = services.describe(result)
        if result.outcome == services.Outcome.REJECTED:
            for error in result.errors:
                where = f"Zeile {error.row}" if error.row is not None else "Datei"
                column = f", Spalte „{error.column}“" if error.column else ""
                self.stderr.write(f"{where}{column}: {error.message}")
            hidden = result.error_count - len(result.errors)
            if hidden:
                self.stderr.write(f"… und {hidden} weitere Fehler.")
            raise CommandError(summary)
        record = result.record
        assert record is not None
        if result.outcome == services.Outcome.CREATED:
            numbers = ", ".join(
                f"{first}–{last}" if first != last else str(first)
                for first, last in record.receivable_ids
            )
            self.stdout.write(self.style.SUCCESS(summary))
            self.stdout.write(
                f"Import Nr. {record.pk} für {profile.organisation.name}, Profil "
                f"„{profile.name}“, Datei „{record.filename}“; Forderungen Nr. {numbers} "
                "(nach Postleitzahl geordnet)."
            )
        else:
            self.stdout.write(summary)
        if options["print_to"]:
            self._print(record, actor, Path(options["print_to"]))

    def _print(self, record: Any, actor: audit.Actor, target: Path) -> None:
        try:
            with target.open("wb") as output:
                letters = services.print_import(record=record, actor=actor, output=output)
        except OSError as exc:
            raise CommandError(f"{target} lässt sich nicht schreiben: {exc.strerror}.") from exc
        except DomainError as exc:
            target.unlink(missing_ok=True)
            raise CommandError(exc.message) from exc
        if letters:
            self.stdout.write(f"{letters} Zahlungsaufforderungen in {target} geschrieben.")
        else:
            target.unlink(missing_ok=True)
            self.stdout.write("Keine Forderung dieses Imports ist mehr offen; nichts gedruckt.")
