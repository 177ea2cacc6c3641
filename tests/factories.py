"""Builders of valid domain objects for tests; money objects go through the services."""

from __future__ import annotations

import itertools
from typing import Any

from rathauskasse.catalogue.models import Service
from rathauskasse.catalogue.services import create_service
from rathauskasse.core import audit
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.organisations.services import (
    create_budget_line,
    create_department,
    create_organisation,
)
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import Payment
from rathauskasse.receivables.models import Receivable, ReceivableSource
from rathauskasse.receivables.services import Debtor, LineInput, create_receivable

ACTOR = audit.Actor(label="test")
_seq = itertools.count(1)


def organisation(**overrides: Any) -> Organisation:
    n = next(_seq)
    fields: dict[str, Any] = {
        "slug": f"stadt-{n}",
        "name": f"Stadt {n}",
        "ags": "05358008",
        "creditor_name": f"Stadtkasse Stadt {n}",
        "iban": "DE02120300000000202051",
        "bic": "BYLADEM1001",
        "kz_prefix": "",
        "kz_year_digits": 2,
        "kz_number_digits": 6,
        "kz_check_algorithm": "luhn",
    }
    fields.update(overrides)
    return create_organisation(actor=ACTOR, **fields)


def department(org: Organisation, name: str = "Bürgeramt") -> Department:
    return create_department(actor=ACTOR, organisation=org, name=name)


def budget_line(org: Organisation, code: str | None = None) -> BudgetLine:
    code = code or f"1.2.{next(_seq)}"
    return create_budget_line(
        actor=ACTOR,
        organisation=org,
        code=code,
        name=f"Gebühren {code}",
        product="12.2.01",
        account="432100",
        cost_centre="1200",
    )


def service(org: Organisation, dept: Department, line: BudgetLine, **overrides: Any) -> Service:
    fields: dict[str, Any] = {
        "organisation": org,
        "department": dept,
        "slug": f"leistung-{next(_seq)}",
        "name": "Beglaubigung",
        "description": "Amtliche Beglaubigung von Kopien.",
        "form_definition": [
            {"name": "name", "label": "Name", "type": "text", "required": True},
            {
                "name": "pages",
                "label": "Seiten",
                "type": "integer",
                "required": True,
                "min_value": 1,
                "max_value": 50,
            },
        ],
        "fee_kind": "per_unit",
        "fee_amount_cents": 500,
        "fee_unit_label": "Seite",
        "fee_quantity_field": "pages",
        "budget_line": line,
        "payment_policy": "before_submit",
        "payment_methods": ["card", "paypal", "sepa_debit"],
    }
    fields.update(overrides)
    return create_service(actor=ACTOR, **fields)


def receivable(
    org: Organisation,
    dept: Department,
    line: BudgetLine,
    *amounts: int,
    **overrides: Any,
) -> Receivable:
    lines = [
        LineInput(text=f"Position {i}", amount_cents=a, budget_line=line)
        for i, a in enumerate(amounts or (3070,), start=1)
    ]
    fields: dict[str, Any] = {
        "actor": ACTOR,
        "organisation": org,
        "department": dept,
        "lines": lines,
        "purpose": "Anwohnerparkausweis",
        "debtor": Debtor(
            name="Erika Mustermann",
            street="Heidestraße 17",
            postcode="51147",
            city="Köln",
            email="erika@example.org",
        ),
        "source": ReceivableSource.API,
    }
    fields.update(overrides)
    return create_receivable(**fields)


def payment(
    org: Organisation, *receivables: Receivable, method: str = "card", **overrides: Any
) -> Payment:
    return payments.create_payment(
        actor=ACTOR,
        organisation=org,
        allocations=[payments.AllocationInput(r) for r in receivables],
        provider=overrides.pop("provider", "sandbox"),
        method=method,
        return_url=overrides.pop("return_url", "http://testserver/zurueck"),
        **overrides,
    )
