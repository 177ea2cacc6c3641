"""Recording business events for integrators.

Invariants kept here:
- an event is written in the same transaction as the change it reports, so it exists if and
  only if the change committed (the outbox for the events feed and for webhooks);
- events are never changed or deleted; their ids give the feed its order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rathauskasse.core import clock, sql
from rathauskasse.events.models import Event, EventType
from rathauskasse.events.signals import event_recorded


def record(*, organisation_id: int, type: EventType, data: Mapping[str, Any]) -> None:  # noqa: A002
    event_id = sql.insert(
        Event,
        {
            "organisation_id": organisation_id,
            "type": type,
            "data": dict(data),
            "created_at": clock.now(),
        },
    )
    event_recorded.send(sender=Event, event_id=event_id, organisation_id=organisation_id, type=type)
