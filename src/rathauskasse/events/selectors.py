"""Reads of the events feed, scoped by organisation."""

from __future__ import annotations

from django.db.models import QuerySet

from rathauskasse.events.models import Event
from rathauskasse.organisations.models import Organisation


def feed(*, organisation: Organisation, after: int = 0) -> QuerySet[Event]:
    return Event.objects.filter(organisation=organisation, pk__gt=after).order_by("id")
