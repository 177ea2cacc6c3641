"""`manage.py export_bookings --profile NAME [--until DATE] --output FILE`: export new bookings.

Exports every movement of the receivables that the profile has not exported yet (booked up to
`--until`, default today) as one batch, and writes its file to FILE: byte for byte the file the
batch stores. With nothing new, no batch is made and FILE holds the header only. The last line
says `exported N records to FILE`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathauskasse.core import audit
from rathauskasse.core.errors import DomainError
from rathauskasse.core.money import Money
from rathauskasse.finance import selectors, services
from rathauskasse.finance.models import ExportTrigger
from rathauskasse.organisations import selectors as organisation_selectors


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unbekannt"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    day, _, rest = text.partition(".")
    month, _, year = rest.partition(".")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        pass
    raise CommandError(f"„{text}“ ist kein Datum; erwartet wird JJJJ-MM-TT oder TT.MM.JJJJ.")


class Command(BaseCommand):
    help = (
        "Exportiert die neuen Bewegungen der Forderungen mit einem Exportprofil an das "
        "Finanzverfahren: jede Buchungszeile je Profil genau einmal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profile", required=True, help="Kurzname des Exportprofils")
        parser.add_argument("--until", help="Buchungen bis zu diesem Tag (Standard: heute)")
        parser.add_argument("--output", required=True, help="die Datei, in die exportiert wird")
        parser.add_argument(
            "--organisation",
            help="Kurzname (slug) der Organisation; nötig, wenn mehrere ein Profil dieses "
            "Namens haben",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        until = _date(options["until"]) if options["until"] else None
        target = Path(options["output"])
        try:
            organisation = None
            if options["organisation"]:
                organisation = organisation_selectors.get_organisation(slug=options["organisation"])
            profile = selectors.find_export_profile(
                name=options["profile"], organisation=organisation
            )
            result = services.export_bookings(
                profile=profile,
                actor=audit.Actor(label=f"manage.py export_bookings ({_operator()})"),
                trigger=ExportTrigger.COMMAND,
                until=until,
            )
            batch = result.batch
            with target.open("wb") as output:
                if batch is None:
                    output.write(result.empty_file)
                else:
                    with services.open_batch_file(batch=batch) as stored:
                        shutil.copyfileobj(stored, output, 1024 * 1024)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"{target} lässt sich nicht schreiben: {exc.strerror}.") from exc
        if batch is not None:
            self.stdout.write(
                f"Export Nr. {batch.number} des Profils „{profile.name}“ "
                f"(Version {batch.version.number}): {batch.record_count} Sätze, "
                f"Saldo {Money(batch.net_cents).format_de()}, SHA-256 {batch.sha256}."
            )
        self.stdout.write(f"exported {result.records} records to {target}")
