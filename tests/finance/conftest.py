"""Builders for open-item imports: a profile, Kassenzeichen of the scheme, CSV bytes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.test import Client

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.finance import services
from rathauskasse.finance.models import OpenItemImport, OpenItemProfile
from rathauskasse.ledger.models import JournalEntry, JournalLine
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import Receivable, ReceivableLine
from tests import factories

HEADER = ("Kassenzeichen", "Betrag", "Name", "PLZ", "Ort", "Fällig", "Text", "HHSt")


def kz(org: Organisation, number: int, *, year: int = 2026) -> str:
    """A valid Kassenzeichen of the organisation's scheme, as the finance system writes it."""
    scheme = Scheme.of(org)
    return scheme.display(scheme.build(year=year, number=900_000 + number))


def csv_bytes(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] | None = HEADER,
    delimiter: str = ";",
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> bytes:
    lines = ([delimiter.join(header)] if header else []) + [delimiter.join(r) for r in rows]
    return (newline.join(lines) + newline).encode(encoding)


def row(org: Organisation, number: int, **values: str) -> list[str]:
    """One valid row in HEADER's order; keyword arguments replace cells by column name."""
    cells = {
        "Kassenzeichen": kz(org, number),
        "Betrag": "12,50",
        "Name": "Jürgen Müller",
        "PLZ": "52349",
        "Ort": "Musterstadt",
        "Fällig": "15.01.2027",
        "Text": "Hundesteuer 2027",
        "HHSt": "",
    }
    cells.update(values)
    return [cells[name] for name in HEADER]


def counts() -> dict[str, int]:
    """Everything an import writes; a rejected file must leave all of it unchanged."""
    return {
        model.__name__: model.objects.count()
        for model in (
            Receivable,
            ReceivableLine,
            JournalEntry,
            JournalLine,
            AuditEntry,
            OpenItemImport,
        )
    }


@pytest.fixture
def profile(org: Organisation, department: Department, budget_line: BudgetLine) -> OpenItemProfile:
    return services.create_profile(
        actor=factories.ACTOR,
        organisation=org,
        name="finanzverfahren",
        encoding="utf-8",
        delimiter=";",
        decimal_separator=",",
        thousands_separator=".",
        date_format="%d.%m.%Y",
        column_kassenzeichen="Kassenzeichen",
        column_amount="Betrag",
        column_debtor_name="Name",
        column_debtor_postcode="PLZ",
        column_debtor_city="Ort",
        column_due_date="Fällig",
        column_purpose="Text",
        column_budget_line="HHSt",
        default_budget_line=budget_line,
        default_department=department,
    )


@pytest.fixture
def run(org: Organisation, profile: OpenItemProfile) -> Callable[..., services.ImportResult]:
    def run_import(
        data: bytes, *, filename: str = "op.csv", **overrides: Any
    ) -> services.ImportResult:
        return services.import_open_items(
            organisation=overrides.get("organisation", org),
            profile=overrides.get("profile", profile),
            data=data,
            filename=filename,
            actor=factories.ACTOR,
        )

    return run_import


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client
