"""The audit log: every money-relevant write and every staff action, in the same transaction."""

from __future__ import annotations

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
