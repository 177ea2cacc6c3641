"""`manage.py load_demo`: the demo city Musterstadt, ready to click through.

Creates the organisation with offices, budget lines and services, 25 open notices, a few
payments made through the sandbox (so the ledger has postings), and staff users. Running it again
changes nothing and prints what is there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from rathauskasse.catalogue.services import create_service
from rathauskasse.core import audit, clock
from rathauskasse.core.models import User
from rathauskasse.core.money import Money
from rathauskasse.demo import data
from rathauskasse.organisations import services as organisations
from rathauskasse.organisations.models import BudgetLine, Department, Organisation, Role
from rathauskasse.payments import services as payments
from rathauskasse.providers.sandbox import server as sandbox
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableSource
from rathauskasse.receivables.services import Debtor, LineInput, create_receivable

ACTOR = audit.Actor(label="demo")


class Command(BaseCommand):
    help = "Legt die Demo-Stadt Musterstadt mit Leistungen, Bescheiden und Zahlungen an."

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(slug=data.ORGANISATION["slug"]).first()
        if organisation is not None:
            self.stdout.write(f"{organisation.name} ist schon angelegt; es wird nichts geändert.")
        else:
            with transaction.atomic():
                organisation = self._create()
            self.stdout.write(self.style.SUCCESS(f"{organisation.name} ist angelegt."))
        self._print(organisation)

    # --- creating -----------------------------------------------------------------------------
    def _create(self) -> Organisation:
        organisation = organisations.create_organisation(actor=ACTOR, **data.ORGANISATION)
        departments = {
            spec["name"]: organisations.create_department(
                actor=ACTOR, organisation=organisation, **spec
            )
            for spec in data.DEPARTMENTS
        }
        lines = {
            code: organisations.create_budget_line(
                actor=ACTOR,
                organisation=organisation,
                code=code,
                name=name,
                product=product,
                account=account,
                cost_centre=cost_centre,
            )
            for code, (name, product, account, cost_centre) in data.BUDGET_LINES.items()
        }
        for spec in data.SERVICES:
            fields = dict(spec)
            fields["department"] = departments[spec["department"]]
            if "budget_line" in spec:
                fields["budget_line"] = lines[spec["budget_line"]]
            create_service(actor=ACTOR, organisation=organisation, **fields)
        for purpose, department, line, cents, debtor, due_in_days in data.NOTICES:
            self._notice(
                organisation=organisation,
                department=departments[department],
                line=lines[line],
                purpose=purpose,
                cents=cents,
                debtor=debtor,
                due_date=clock.today() + dt.timedelta(days=due_in_days),
            )
        self._pay_some(organisation, departments, lines)
        self._staff(organisation, departments)
        return organisation

    def _notice(
        self,
        *,
        organisation: Organisation,
        department: Department,
        line: BudgetLine,
        purpose: str,
        cents: int,
        debtor: tuple[str, str, str, str],
        due_date: dt.date,
    ) -> Receivable:
        name, street, postcode, city = debtor
        return create_receivable(
            actor=ACTOR,
            organisation=organisation,
            department=department,
            lines=[LineInput(text=purpose, amount_cents=cents, budget_line=line)],
            purpose=purpose,
            debtor=Debtor(name=name, street=street, postcode=postcode, city=city),
            source=ReceivableSource.NOTICE,
            due_date=due_date,
        )

    def _pay_some(
        self,
        organisation: Organisation,
        departments: dict[str, Department],
        lines: dict[str, BudgetLine],
    ) -> None:
        """Pay a few notices the way a citizen would: at the sandbox's page, confirmed by a poll."""
        payer = ("Demo Zahler", "Rathausplatz 2", "52349", "Musterstadt")
        for purpose, department, line, cents, method in data.PAID:
            receivable = self._notice(
                organisation=organisation,
                department=departments[department],
                line=lines[line],
                purpose=purpose,
                cents=cents,
                debtor=payer,
                due_date=clock.today(),
            )
            payment = payments.create_payment(
                actor=ACTOR,
                organisation=organisation,
                allocations=[payments.AllocationInput(receivable)],
                provider="sandbox",
                method=method,
            )
            payments.start_payment(payment=payment, actor=ACTOR)
            payment.refresh_from_db()
            sandbox.decide(
                reference=payment.provider_reference,
                outcome=sandbox.Outcome.SUCCEED,
                payer_method="card" if method == "card" else method,
            )
            paid = payments.sync_payment(payment=payment)
            if paid.status != "succeeded":
                raise RuntimeError(f"demo payment {paid.public_id} ended {paid.status}")

    def _staff(self, organisation: Organisation, departments: dict[str, Department]) -> None:
        for username, (first, last, password, role, department, superuser) in data.STAFF.items():
            user = User.objects.create_user(
                username,
                email=f"{username}@musterstadt.example",
                password=password,
                first_name=first,
                last_name=last,
            )
            user.is_staff = True
            user.is_superuser = superuser
            user.save(update_fields=["is_staff", "is_superuser"])
            organisations.grant_role(
                actor=ACTOR,
                organisation=organisation,
                user=user,
                role=Role(role),
                department=departments[department] if department else None,
            )

    # --- printing -----------------------------------------------------------------------------
    def _print(self, organisation: Organisation) -> None:
        open_ones = list(
            receivable_selectors.open_receivables(organisation=organisation).order_by("id")
        )
        open_cents = receivable_selectors.open_amounts(
            organisation=organisation, receivable_ids=[r.pk for r in open_ones]
        )
        self.stdout.write("")
        self.stdout.write(f"Offene Forderungen ({len(open_ones)}):")
        self.stdout.write(f"  {'Kassenzeichen':<16} {'offen':>12}  Zweck")
        for receivable in open_ones:
            amount = Money(open_cents[receivable.pk]).format_de().replace("\u00a0", " ")
            self.stdout.write(
                f"  {receivable.kassenzeichen_display:<16} {amount:>12}  {receivable.purpose}"
            )
        self.stdout.write("")
        self.stdout.write("Demo-Zugänge (nur für die Demo!):")
        for username, (_, _, password, role, department, _) in data.STAFF.items():
            where = f", {department}" if department else ""
            self.stdout.write(f"  {username:<20} Passwort {password:<24} {Role(role).label}{where}")
        self.stdout.write("")
        self.stdout.write("Verwaltung: http://127.0.0.1:8000/admin/")
