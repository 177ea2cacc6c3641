"""Reads of tenant structure. Every query here is scoped by organisation."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import (
    BudgetLine,
    Department,
    Membership,
    Organisation,
    Role,
)


def get_organisation(*, slug: str) -> Organisation:
    try:
        return Organisation.objects.get(slug=slug)
    except Organisation.DoesNotExist:
        raise NotFound(f"Die Organisation „{slug}“ gibt es nicht.") from None


def portal_organisation(*, host: str, default_slug: str) -> Organisation:
    """The organisation whose citizen portal answers at `host` (without port).

    An organisation may claim a host name; every other host gets the default organisation (by
    slug), or the only one there is.
    """
    host = host.lower()
    wanted = Q(slug=default_slug) if default_slug else Q(pk__in=[])
    if host:
        wanted |= Q(portal_host=host)
    found = list(Organisation.objects.filter(wanted)[:2])  # one query for both rules
    for organisation in found:
        if host and organisation.portal_host == host:
            return organisation
    if found:
        return found[0]
    if default_slug:
        raise NotFound(f"Die Organisation „{default_slug}“ gibt es nicht.")
    candidates = list(Organisation.objects.order_by("pk")[:2])
    if len(candidates) == 1:
        return candidates[0]
    raise NotFound("Für diese Adresse ist kein Bürgerportal eingerichtet.")


def departments(*, organisation: Organisation) -> QuerySet[Department]:
    return Department.objects.filter(organisation=organisation)


def get_department(*, organisation: Organisation, department_id: int) -> Department:
    try:
        return departments(organisation=organisation).get(pk=department_id)
    except Department.DoesNotExist:
        raise NotFound("Dieses Amt gibt es in der Organisation nicht.") from None


def budget_lines(*, organisation: Organisation, active_only: bool = True) -> QuerySet[BudgetLine]:
    lines = BudgetLine.objects.filter(organisation=organisation)
    return lines.filter(is_active=True) if active_only else lines


def get_budget_line(*, organisation: Organisation, code: str) -> BudgetLine:
    try:
        return budget_lines(organisation=organisation, active_only=False).get(code=code)
    except BudgetLine.DoesNotExist:
        raise NotFound(
            f"Die Haushaltsstelle „{code}“ gibt es nicht.", field="budget_line"
        ) from None


def memberships(*, organisation: Organisation, user_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(organisation=organisation, user_id=user_id).select_related(
        "department"
    )


def has_role(*, organisation: Organisation, user_id: int, role: Role) -> bool:
    return memberships(organisation=organisation, user_id=user_id).filter(role=role).exists()


def department_ids_for(*, organisation: Organisation, user_id: int) -> set[int] | None:
    """The departments a user may see; None means all of the organisation (cash office, admin)."""
    roles = list(memberships(organisation=organisation, user_id=user_id))
    if any(m.department_id is None for m in roles):
        return None
    return {m.department_id for m in roles if m.department_id is not None}
