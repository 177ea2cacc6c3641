"""Reads of the service catalogue, scoped by organisation."""

from __future__ import annotations

from django.db.models import QuerySet

from rathauskasse.catalogue.models import Service
from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation


def active_services(*, organisation: Organisation) -> QuerySet[Service]:
    return Service.objects.filter(organisation=organisation, is_active=True).select_related(
        "department"
    )


def get_service(*, organisation: Organisation, slug: str) -> Service:
    try:
        return (
            active_services(organisation=organisation).select_related("budget_line").get(slug=slug)
        )
    except Service.DoesNotExist:
        raise NotFound(
            "Diese Leistung gibt es nicht oder sie wird nicht online angeboten."
        ) from None
