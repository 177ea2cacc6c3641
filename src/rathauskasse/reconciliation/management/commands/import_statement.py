"""`manage.py import_statement FILE... [--organisation SLUG]`: import bank statements and book them.

Each file on its own, all or nothing: prints per file what it did (lines new and already imported,
booked, flagged, waiting in clearing, the sums in euros) or why it was refused, with a progress
bar on stderr; exits with status 1 if any file was refused.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from rathauskasse.core import audit
from rathauskasse.core.errors import DomainError
from rathauskasse.organisations import selectors as organisation_selectors
from rathauskasse.organisations.models import Organisation
from rathauskasse.reconciliation import services

BAR_WIDTH = 30


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unbekannt"


class ProgressBar:
    """A plain-text progress bar on one line of stderr, redrawn in place."""

    def __init__(self, out: OutputWrapper, label: str) -> None:
        self.out = out
        self.label = label
        self.drawn = False

    def __call__(self, progress: services.Progress) -> None:
        if progress.phase == services.Phase.READ or not progress.total:
            text = f"{self.label}: {progress.done} Zeilen gelesen …"
        else:
            share = progress.done / progress.total
            filled = round(share * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            text = (
                f"{self.label}: [{bar}] {share:4.0%} {progress.done}/{progress.total} "
                "Zeilen gebucht"
            )
        self.out.write("\r" + text, style_func=str, ending="")
        self.out.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.out.write("", style_func=str)
            self.out.flush()


class Command(BaseCommand):
    help = (
        "Importiert Kontoauszüge (camt.052/053/054, MT940, CSV) und bucht ihre Zeilen: jede "
        "Datei ganz oder gar nicht, jede Zeile nur einmal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="die Auszugsdateien")
        parser.add_argument(
            "--organisation",
            help="Kurzname (slug) der Organisation; nötig, wenn es mehrere gibt",
        )

    def _organisation(self, slug: str | None) -> Organisation:
        if slug:
            return organisation_selectors.get_organisation(slug=slug)
        found = list(Organisation.objects.order_by("pk")[:2])
        if len(found) != 1:
            raise CommandError(
                "Bitte nennen Sie die Organisation mit --organisation (ihren Kurznamen)."
            )
        return found[0]

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            organisation = self._organisation(options["organisation"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        actor = audit.Actor(label=f"manage.py import_statement ({_operator()})")
        refused = 0
        for name in options["files"]:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"{path}: lässt sich nicht lesen ({exc.strerror}).")
                refused += 1
                continue
            bar = ProgressBar(self.stderr, path.name)
            try:
                result = services.import_statement(
                    organisation=organisation,
                    data=data,
                    file_name=path.name,
                    actor=actor,
                    progress=bar,
                )
            finally:
                bar.close()
            if result.outcome == services.ImportOutcome.REJECTED:
                refused += 1
                self.stderr.write(self.style.ERROR(f"{path.name}: {result.message}"))
            elif result.outcome == services.ImportOutcome.ALREADY_IMPORTED:
                self.stdout.write(f"{path.name}: {result.message}")
            else:
                self.stdout.write(self.style.SUCCESS(f"{path.name}: {result.message}"))
        if refused:
            raise CommandError(
                f"{refused} von {len(options['files'])} Dateien wurden nicht importiert."
            )
