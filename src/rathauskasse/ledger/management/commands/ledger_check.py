"""`manage.py ledger_check`: verify every journal entry and the trial balance."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathauskasse.core.money import Money
from rathauskasse.ledger import selectors
from rathauskasse.organisations.models import Organisation


class Command(BaseCommand):
    help = "Prüft jede Buchung (mindestens zwei Zeilen, Summe null) und die Summenbilanz."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", help="Kurzname (slug) einer Organisation")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation_id = None
        if options["organisation"]:
            org = Organisation.objects.filter(slug=options["organisation"]).first()
            if org is None:
                raise CommandError(f"Organisation „{options['organisation']}“ gibt es nicht.")
            organisation_id = org.pk
        report = selectors.check_integrity(organisation_id=organisation_id)
        self.stdout.write(f"Geprüft: {report.entries} Buchungen mit {report.lines} Zeilen.")
        names = dict(Organisation.objects.values_list("pk", "name"))
        for org_id, total in sorted(report.trial_balance_cents.items()):
            self.stdout.write(
                f"  Summenbilanz {names.get(org_id, org_id)}: {Money(total).format_de()}"
            )
            for account, balance in selectors.account_balances(organisation_id=org_id):
                if balance:
                    self.stdout.write(f"    {account.name:<55} {Money(balance).format_de():>14}")
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"FEHLER: {problem}")
            raise CommandError(f"{len(report.problems)} Problem(e) gefunden.")
        self.stdout.write(self.style.SUCCESS("Das Hauptbuch ist ausgeglichen."))
