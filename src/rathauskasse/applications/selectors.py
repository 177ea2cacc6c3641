"""Reads of applications."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from rathauskasse.applications.models import Application
from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import Organisation


def get_application(*, organisation: Organisation, public_id: uuid.UUID | str) -> Application:
    try:
        return Application.objects.select_related("service", "receivable").get(
            organisation=organisation, public_id=public_id
        )
    except (Application.DoesNotExist, ValueError, TypeError):
        raise NotFound("Diesen Antrag gibt es nicht.") from None


def applications_of_user(*, organisation: Organisation, user_id: int) -> QuerySet[Application]:
    return Application.objects.filter(organisation=organisation, user_id=user_id).select_related(
        "service", "receivable"
    )


def application_paid_by(*, receivable_ids: list[int]) -> Application | None:
    """The application whose fee is one of these receivables, if any."""
    if not receivable_ids:
        return None
    return Application.objects.filter(receivable_id__in=receivable_ids).first()
