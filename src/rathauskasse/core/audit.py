"""The audit log: every money-relevant write and every staff action, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models

from rathauskasse.core import clock, sql
from rathauskasse.core.models import AuditEntry, User


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a logged-in user, or a named system part ("system", "provider:sandbox", ...)."""

    label: str
    user_id: int | None = None

    @classmethod
    def user(cls, user: User) -> Actor:
        return cls(label=user.get_username(), user_id=user.pk)


SYSTEM = Actor(label="system")


def record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: object = None,
    organisation_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry. Call it inside the transaction of the change it describes."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    sql.insert(
        AuditEntry,
        {
            "created_at": clock.now(),
            "organisation_id": organisation_id,
            "actor_id": actor.user_id,
            "actor_label": actor.label,
            "action": action,
            "object_type": object_type or "",
            "object_id": str(object_id or ""),
            "before": before,
            "after": after,
        },
    )


def give_to_user(
    rows: models.QuerySet[Any], *, user_id: int, public_ids: Iterable[str], action: str
) -> int:
    """Give the rows of `public_ids` that have no owner yet to the user, one audit entry each.

    For what a guest did before logging in (applications, payments); rows someone owns stay theirs.
    Call it inside a transaction.
    """
    claimed = list(
        rows.filter(public_id__in=list(public_ids), user__isnull=True).values_list(
            "pk", "organisation_id"
        )
    )
    rows.filter(pk__in=[pk for pk, _ in claimed]).update(user_id=user_id)
    actor = Actor(label=f"user:{user_id}", user_id=user_id)
    for pk, organisation_id in claimed:
        record(
            actor=actor,
            action=action,
            object_type=rows.model._meta.label_lower,
            object_id=pk,
            organisation_id=organisation_id,
            after={"user_id": user_id},
        )
    return len(claimed)
