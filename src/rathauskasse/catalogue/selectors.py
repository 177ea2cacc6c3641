"""Reads of the service catalogue, scoped by organisation."""

from __future__ import annotations

from dataclasses import dataclass

from rathauskasse.catalogue.models import Service
from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Department, Organisation


@dataclass(frozen=True)
class DepartmentServices:
    department: Department
    services: tuple[Service, ...]


def _matches(service: Service, terms: list[str]) -> bool:
    text = " ".join((service.name, service.description, service.keywords)).casefold()
    return all(term in text for term in terms)


def catalogue(*, organisation: Organisation, query: str = "") -> list[DepartmentServices]:
    """The services offered online, grouped by department, filtered by every word of `query`.

    Matching is done in Python with full Unicode case folding ("GRÜN" finds "Grünschnitt"),
    which the databases' LIKE does not do; a municipality offers a few hundred services at most.
    """
    terms = query.casefold().split()
    services = Service.objects.filter(organisation=organisation, is_active=True).select_related(
        "department"
    )
    groups: dict[int, list[Service]] = {}
    departments: dict[int, Department] = {}
    for service in services.order_by("department__name", "name"):
        if terms and not _matches(service, terms):
            continue
        departments[service.department_id] = service.department
        groups.setdefault(service.department_id, []).append(service)
    return [DepartmentServices(departments[pk], tuple(items)) for pk, items in groups.items()]


def get_offered_service(*, organisation: Organisation, slug: str) -> Service:
    try:
        return Service.objects.select_related("department", "budget_line").get(
            organisation=organisation, slug=slug, is_active=True
        )
    except Service.DoesNotExist:
        raise NotFound("Diese Leistung wird nicht online angeboten.") from None
