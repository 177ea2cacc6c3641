"""`manage.py issue_notices`: notices for named or all open receivables, letters in one PDF.

    manage.py issue_notices --kassenzeichen 26-000001-3 260000021 --output bescheide.pdf
    manage.py issue_notices --all-open --organisation musterstadt --output druck.pdf

E-mail goes where the debtor gave an address (`--print-all`: every notice as a letter); the
letters go into `--output` in the order of the postal codes. Prints what it did.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathauskasse.core import audit
from rathauskasse.core.errors import DomainError
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import notices, selectors
from rathauskasse.receivables.models import DeliveryChannel


class Command(BaseCommand):
    help = "Erstellt Zahlungsaufforderungen und schreibt die Briefe in eine Druckdatei (PDF)."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--kassenzeichen", nargs="+", metavar="KZ", help="Kassenzeichen")
        which.add_argument(
            "--all-open", action="store_true", help="alle offenen Forderungen der Organisation"
        )
        parser.add_argument(
            "--organisation", help="Kurzname der Organisation (nötig, wenn es mehrere gibt)"
        )
        parser.add_argument("--output", required=True, type=Path, help="Druckdatei (PDF)")
        parser.add_argument(
            "--print-all", action="store_true", help="alle als Brief, auch mit E-Mail-Adresse"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = self._organisation(options["organisation"])
        if options["all_open"]:
            ids = list(
                selectors.open_receivables(organisation=organisation).values_list("pk", flat=True)
            )
        else:
            ids = []
            for text in options["kassenzeichen"]:
                try:
                    found = selectors.find_by_kassenzeichen(organisation=organisation, text=text)
                except DomainError as exc:
                    raise CommandError(f"{text}: {exc.message}") from None
                ids.append(found.pk)
        output: Path = options["output"]
        # Written next to the target and moved there at the end: an error leaves no half file.
        handle, temporary = tempfile.mkstemp(dir=output.parent or None, suffix=".pdf.part")
        try:
            with os.fdopen(handle, "wb") as out:
                result = notices.issue_batch(
                    receivables=ids,
                    actor=audit.Actor(label="manage.py issue_notices"),
                    channel=DeliveryChannel.PRINT if options["print_all"] else None,
                    output=out,
                )
        except DomainError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise CommandError(exc.message) from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for kassenzeichen, reason in result.skipped:
            self.stdout.write(f"übersprungen {kassenzeichen}: {reason}")
        if result.printed:
            Path(temporary).replace(output)
            self.stdout.write(
                f"{result.printed} Brief(e) auf {result.pages} Seite(n) in {output} "
                "(nach Postleitzahl sortiert)."
            )
        else:
            Path(temporary).unlink(missing_ok=True)
            self.stdout.write(f"Keine Briefe; {output} wurde nicht geschrieben.")
        self.stdout.write(f"{result.emailed} Bescheid(e) gehen per E-Mail hinaus.")
        self.stdout.write(
            f"{len(result.notice_ids)} Bescheid(e) erstellt, {len(result.skipped)} übersprungen."
        )

    def _organisation(self, slug: str | None) -> Organisation:
        if slug:
            found = Organisation.objects.filter(slug=slug).first()
            if found is None:
                raise CommandError(f"Die Organisation „{slug}“ gibt es nicht.")
            return found
        every = list(Organisation.objects.all()[:2])
        if len(every) != 1:
            raise CommandError("Bitte nennen Sie die Organisation mit --organisation.")
        return every[0]
