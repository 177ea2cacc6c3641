"""Recording business events for integrators.

Invariants kept here:
- an event is written in the same transaction as the change it reports, so it exists if and
  only if the change committed (the outbox for the events feed and for webhooks);
- events are never changed or deleted; their ids give the feed its order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rathauskasse.core import clock, sql
from rathauskasse.events.models import Event, EventType
from rathauskasse.events.signals import event_recorded


def record(*, organisation_id: int, type: EventType, data: Mapping[str, Any]) -> None:  # noqa: A002
    record_many(organisation_id=organisation_id, events=[(type, data)])


def record_many(
    *, organisation_id: int, events: Sequence[tuple[EventType, Mapping[str, Any]]]
) -> None:
    """Record several events of one change in one statement, in the given order."""
    if not events:
        return
    now = clock.now()
    rows = sql.insert_returning(
        Event,
        [
            {
                "organisation_id": organisation_id,
                "type": type_,
                "data": dict(data),
                "created_at": now,
            }
            for type_, data in events
        ],
        also=_subscriber_probe or "0",
    )
    for (event_id, subscribers), (type_, _) in zip(sorted(rows), events, strict=True):
        event_recorded.send(
            sender=Event,
            event_id=event_id,
            organisation_id=organisation_id,
            type=type_,
            subscribers=int(subscribers or 0),
        )


_subscriber_probe = ""


def register_subscriber_probe(expression: str) -> None:
    """SQL counting who listens for an event, evaluated in the INSERT's RETURNING clause.

    It may use the new row's columns (e.g. `organisation_id`). Receivers of `event_recorded`
    get the count as `subscribers` and can skip their own query when it is 0: on the payment
    hot path that saves a round trip for every organisation without webhooks.
    """
    global _subscriber_probe  # noqa: PLW0603 - set once at start-up by the listening app
    _subscriber_probe = expression
