"""Writes and rules of the service catalogue.

Invariants kept here:
- a service's form definition parses, and its fee rule can compute with that form;
- a service that charges has a budget line and at least one payment method of its organisation;
- the fee is computed by the server from validated answers only (`quote`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from rathauskasse.catalogue.fees import FeeBreakdown
from rathauskasse.catalogue.formdefs import validate_answers
from rathauskasse.catalogue.models import Service
from rathauskasse.core import audit
from rathauskasse.core.errors import full_clean_or_fail


@dataclass(frozen=True, slots=True)
class Quote:
    """Validated answers and the fee they cost."""

    answers: dict[str, str | int | bool | None]
    fee: FeeBreakdown


def quote(*, service: Service, data: Mapping[str, Any]) -> Quote:
    """Validate a citizen's answers and compute the fee; raises `ValidationFailed` per field."""
    fields = service.fields
    answers = validate_answers(fields, data)
    return Quote(answers=answers, fee=service.fee_rule.compute(answers, fields))


@transaction.atomic
def create_service(*, actor: audit.Actor, **fields: Any) -> Service:
    service = Service(**fields)
    full_clean_or_fail(service)
    service.save()
    audit.record(
        actor=actor,
        action="service.created",
        obj=service,
        organisation_id=service.organisation_id,
        after={"slug": service.slug, "fee": service.fee_rule.describe(service.fields)},
    )
    return service
