"""Reads of profiles and imports, scoped by organisation."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from rathauskasse.core.errors import Conflict, NotFound
from rathauskasse.finance.models import OpenItemImport, OpenItemProfile
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable


def profiles(*, organisation: Organisation) -> QuerySet[OpenItemProfile]:
    return OpenItemProfile.objects.filter(organisation=organisation).select_related(
        "organisation", "default_budget_line", "default_department"
    )


def find_profile(*, name: str, organisation: Organisation | None = None) -> OpenItemProfile:
    """The profile called `name`; without an organisation, the only one of that name."""
    found = OpenItemProfile.objects.filter(name=name).select_related(
        "organisation", "default_budget_line", "default_department"
    )
    if organisation is not None:
        found = found.filter(organisation=organisation)
    candidates = list(found[:2])
    if not candidates:
        where = f" bei {organisation.name}" if organisation is not None else ""
        raise NotFound(f"Ein Profil „{name}“ gibt es{where} nicht.")
    if len(candidates) > 1:
        raise Conflict(
            f"Mehrere Organisationen haben ein Profil „{name}“; bitte nennen Sie die Organisation."
        )
    return candidates[0]


def imports(*, organisation: Organisation) -> QuerySet[OpenItemImport]:
    return OpenItemImport.objects.filter(organisation=organisation)


def imported_receivables(*, record: OpenItemImport) -> QuerySet[Receivable]:
    """The receivables an import created, in postal-code order (the order of the print run)."""
    ranges = Q(pk__in=[])
    for first, last in record.receivable_ids:
        ranges |= Q(pk__gte=first, pk__lte=last)
    organisation = record.organisation
    return receivable_selectors.receivables(organisation=organisation).filter(ranges).order_by("pk")
