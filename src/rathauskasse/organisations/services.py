"""Writes of tenant structure.

Invariants kept here:
- IBAN and BIC are valid (schwifty) and stored in compact upper-case form;
- a department role always names a department of the same organisation, an organisation-wide
  role never does;
- every change is in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rathauskasse.core import audit
from rathauskasse.core.errors import ValidationFailed, full_clean_or_fail
from rathauskasse.core.models import User
from rathauskasse.organisations.models import (
    DEPARTMENT_ROLES,
    BudgetLine,
    Department,
    Membership,
    Organisation,
    Role,
)


@transaction.atomic
def create_organisation(*, actor: audit.Actor, **fields: Any) -> Organisation:
    organisation = Organisation(**fields)
    full_clean_or_fail(organisation)
    organisation.save()
    audit.record(
        actor=actor,
        action="organisation.created",
        obj=organisation,
        organisation_id=organisation.pk,
        after={"slug": organisation.slug, "name": organisation.name, "iban": organisation.iban},
    )
    return organisation


@transaction.atomic
def create_department(
    *, actor: audit.Actor, organisation: Organisation, name: str, code: str = "", email: str = ""
) -> Department:
    department = Department(organisation=organisation, name=name, code=code, email=email)
    full_clean_or_fail(department)
    department.save()
    audit.record(
        actor=actor,
        action="department.created",
        obj=department,
        organisation_id=organisation.pk,
        after={"name": name, "code": code},
    )
    return department


@transaction.atomic
def create_budget_line(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    code: str,
    name: str,
    product: str = "",
    account: str = "",
    cost_centre: str = "",
    booking_data: dict[str, str] | None = None,
) -> BudgetLine:
    line = BudgetLine(
        organisation=organisation,
        code=code,
        name=name,
        product=product,
        account=account,
        cost_centre=cost_centre,
        booking_data=booking_data or {},
    )
    full_clean_or_fail(line)
    line.save()
    audit.record(
        actor=actor,
        action="budget_line.created",
        obj=line,
        organisation_id=organisation.pk,
        after={"code": code, "product": product, "account": account, "cost_centre": cost_centre},
    )
    return line


@transaction.atomic
def grant_role(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    user: User,
    role: Role,
    department: Department | None = None,
) -> Membership:
    if role in DEPARTMENT_ROLES and department is None:
        raise ValidationFailed({"department": "Für diese Rolle muss ein Amt gewählt werden."})
    if role not in DEPARTMENT_ROLES and department is not None:
        raise ValidationFailed({"department": "Diese Rolle gilt für die ganze Organisation."})
    if department is not None and department.organisation_id != organisation.pk:
        raise ValidationFailed({"department": "Das Amt gehört nicht zu dieser Organisation."})
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=organisation, department=department, role=role
    )
    if created:
        audit.record(
            actor=actor,
            action="membership.granted",
            obj=membership,
            organisation_id=organisation.pk,
            after={
                "user": user.get_username(),
                "role": role,
                "department_id": membership.department_id,
            },
        )
    return membership
