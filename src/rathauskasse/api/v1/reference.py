"""/api/v1/departments and /api/v1/budget-lines: what a receivable may name."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rathauskasse.api.models import Scope
from rathauskasse.api.v1 import base
from rathauskasse.organisations import selectors

router = Router(tags=["reference data"])


class DepartmentOut(Schema):
    id: int
    name: str
    code: str


class BudgetLineOut(Schema):
    code: str
    name: str


@router.get(
    "/departments", response={200: list[DepartmentOut], **base.problems()}, summary="Departments"
)
def departments(request: HttpRequest) -> list[dict[str, Any]]:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    found = selectors.departments(organisation=api_key.organisation).order_by("name")
    limited = base.department_ids(api_key)
    if limited:
        found = found.filter(pk__in=limited)
    return [{"id": d.pk, "name": d.name, "code": d.code} for d in found]


@router.get(
    "/budget-lines",
    response={200: list[BudgetLineOut], **base.problems()},
    summary="Active budget lines",
)
def budget_lines(request: HttpRequest) -> list[dict[str, Any]]:
    api_key = base.require(request, Scope.RECEIVABLES_READ)
    found = selectors.budget_lines(organisation=api_key.organisation).order_by("code")
    return [{"code": line.code, "name": line.name} for line in found]
