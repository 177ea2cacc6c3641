"""`manage.py load_demo`: the demo city Musterstadt, ready to click through.

Creates the organisation with its offices, budget lines and services, 25 open notices, a few
payments made through the sandbox (so that the ledger has payment and refund postings) and staff
accounts, then prints the notices' Kassenzeichen and the accounts. Running it again changes
nothing and prints what is there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from rathauskasse.core import clock
from rathauskasse.core.errors import DomainError, ValidationFailed
from rathauskasse.core.money import Money
from rathauskasse.demo import data, loader
from rathauskasse.organisations.models import Membership, Organisation
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.payments.models import PaymentStatus, RefundState, RefundStatus
from rathauskasse.receivables import selectors as receivable_selectors


def _euro(cents: int) -> str:
    # A plain space: the no-break space of `format_de` is not aligned by every terminal font.
    return Money(cents).format_de().replace("\u00a0", " ")


class Command(BaseCommand):
    help = "Legt die Demo-Stadt Musterstadt mit Leistungen, Bescheiden, Zahlungen und Zugängen an."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            loaded = loader.load(today=clock.today())
        except (DomainError, loader.DemoFailed) as exc:
            raise CommandError(
                f"Die Demo-Stadt wurde nicht angelegt; es wurde nichts gespeichert. {_why(exc)}"
            ) from exc
        organisation = loaded.organisation
        if loaded.created:
            self.stdout.write(self.style.SUCCESS(f"{organisation.name} ist angelegt."))
        else:
            self.stdout.write(f"{organisation.name} ist schon angelegt; es wird nichts geändert.")
        self._receivables(organisation)
        self._payments(organisation)
        self._accounts(organisation, just_created=loaded.created)
        if loaded.kept_usernames:
            self.stdout.write(
                "Schon vorhanden und nicht verändert (ohne Rolle in Musterstadt): "
                + ", ".join(loaded.kept_usernames)
            )
        self.stdout.write("")
        api_key = loaded.api_key or os.environ.get("RATHAUSKASSE_DEMO_API_KEY")
        if api_key:
            self.stdout.write(f"Test-API-Schlüssel (alle Rechte, nur Sandbox): {api_key}")
        else:
            self.stdout.write(
                "Test-API-Schlüssel: beim ersten Laden ausgegeben (oder RATHAUSKASSE_DEMO_API_KEY "
                "setzen, bevor die Demo angelegt wird)."
            )
        self.stdout.write(f"REST-API:     {settings.SITE_URL}/api/v1/docs")
        self._xbezahldienste()
        self._open_items()
        self.stdout.write(f"Bürgerportal: {settings.SITE_URL}{reverse('portal:home')}")
        self.stdout.write(f"Verwaltung:   {settings.SITE_URL}{reverse('admin:index')}")
        self.stdout.write(
            "Bescheide:    "
            f"{settings.SITE_URL}{reverse('admin:receivables_notice_changelist')} "
            "(PDF je Bescheid; Druckdatei: manage.py issue_notices --all-open --output druck.pdf)"
        )

    def _xbezahldienste(self) -> None:
        spec = data.XBEZAHLDIENSTE
        base = f"{settings.SITE_URL}/xbezahldienste/v1"
        pair = f"{spec['originator_id']}/{spec['endpoint_id']}"
        user = f"{spec['basic_username']}:{spec['basic_password']}"
        self.stdout.write(
            f"XBezahldienste: {base}/docs – Online-Dienst {pair}, HTTP Basic {user}, "
            f"Pflicht-Buchungsdaten: {', '.join(spec['required_booking_keys'])}"
        )
        body = (
            '{"requestId":"demo-1","currency":"EUR","grosAmount":12.50,'
            '"purpose":"Meldebescheinigung","redirectUrl":"https://example.org/fertig",'
            '"items":[{"id":"1","description":"Meldebescheinigung","quantity":1,'
            '"singleNetAmount":12.50,"singleTaxAmount":0,"totalNetAmount":12.50,'
            f'"totalTaxAmount":0,"bookingData":{{"Haushaltsstelle":"{spec["default_budget_line"]}"}}}}]}}'
        )
        self.stdout.write(
            f"  curl -u {user} -H 'Content-Type: application/json' -d '{body}' "
            f"{base}/paymenttransaction/{pair}"
        )
        self.stdout.write(f"  curl -u {user} {base}/paymenttransaction/{pair}/demo-1")

    def _open_items(self) -> None:
        sample = data.OPEN_ITEMS_CSV
        try:
            shown = sample.relative_to(Path.cwd())
        except ValueError:
            shown = sample
        name = data.OPEN_ITEM_PROFILE["name"]
        self.stdout.write(
            f"Offene Posten aus dem Finanzverfahren importieren: manage.py import_open_items "
            f"{shown} --profile {name}"
        )
        self.stdout.write(
            f"  oder in der Verwaltung: {settings.SITE_URL}"
            f"{reverse('admin:finance_openitemimport_upload')}"
        )

    def _receivables(self, organisation: Organisation) -> None:
        open_ones = list(
            receivable_selectors.open_receivables(organisation=organisation).order_by("id")
        )
        open_cents = receivable_selectors.open_amounts(
            organisation=organisation, receivable_ids=[r.pk for r in open_ones]
        )
        self.stdout.write("")
        self.stdout.write(f"Offene Forderungen ({len(open_ones)}):")
        self._table(
            ("Kassenzeichen", "offen", "fällig am", "Zweck"),
            [
                (
                    r.kassenzeichen_display,
                    _euro(open_cents.get(r.pk, r.amount_cents)),
                    r.due_date.strftime("%d.%m.%Y"),
                    r.purpose,
                )
                for r in open_ones
            ],
            right=(1,),
        )
        if open_ones:
            first = open_ones[0]
            link = reverse("portal:pay-link", args=[first.pay_token])
            self.stdout.write(
                f"Zahlungslink (wie im QR-Code des Bescheids) für {first.kassenzeichen_display}: "
                f"{settings.SITE_URL}{link}"
            )

    def _payments(self, organisation: Organisation) -> None:
        paid = list(
            payment_selectors.payments(organisation=organisation)
            .filter(status=PaymentStatus.SUCCEEDED)
            .prefetch_related("receivables", "refunds")
            .order_by("id")
        )
        self.stdout.write("")
        self.stdout.write(f"Bezahlt ({len(paid)}):")
        rows = []
        for payment in paid:
            refunded = sum(
                r.amount_cents for r in payment.refunds.all() if r.status == RefundState.SUCCEEDED
            )
            rows.append(
                (
                    ", ".join(r.kassenzeichen_display for r in payment.receivables.all()),
                    _euro(payment.amount_cents),
                    payment.get_method_display(),
                    _euro(refunded) if payment.refund_status != RefundStatus.NONE else "–",
                )
            )
        self._table(("Kassenzeichen", "Betrag", "Zahlart", "erstattet"), rows, right=(1, 3))

    def _accounts(self, organisation: Organisation, *, just_created: bool) -> None:
        memberships = (
            Membership.objects.filter(organisation=organisation)
            .select_related("user", "department")
            .order_by("user_id", "role")
        )
        passwords = {spec.username: spec.password for spec in data.STAFF}
        rows = []
        for membership in memberships:
            user = membership.user
            demo_password = passwords.get(user.get_username())
            # Printed only while it still opens the account: someone may have changed it since.
            shown = demo_password or ""
            if not demo_password or not (just_created or user.check_password(demo_password)):
                shown = "(eigenes Passwort)"
            role = membership.get_role_display()
            if membership.department is not None:
                role += f", {membership.department.name}"
            if user.is_superuser:
                role += ", Django-Admin (Superuser)"
            elif user.is_staff:
                role += ", Django-Admin"
            rows.append((user.get_username(), shown, role))
        self.stdout.write("")
        self.stdout.write("Zugänge (die Passwörter gelten nur für diese Demo):")
        self._table(("Benutzername", "Passwort", "Rolle"), rows)

    def _table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()
    ) -> None:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                cell.rjust(width) if i in right else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()

        self.stdout.write("  " + line(header))
        for row in rows:
            self.stdout.write("  " + line(row))


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(f"{field}: {message}" for field, message in exc.errors.items())
    return str(exc)
