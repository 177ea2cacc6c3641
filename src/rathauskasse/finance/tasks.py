"""The daily export of each profile that has a time (`ExportProfile.daily_at`).

There is no scheduler: each run enqueues the next one before it exports, so a failing run does
not break the chain (as the reminder run does). `next_run_at` on the profile names the one run
that is due: a run whose planned time is not (any more) the profile's does nothing, so changing
the time, or starting a chain twice, leaves exactly one chain.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django_tasks import task

from rathauskasse.core import audit, clock
from rathauskasse.core.tasks import enqueue
from rathauskasse.finance.models import ExportProfile, ExportTrigger

ACTOR = audit.Actor(label="täglicher Export")


def next_run(profile: ExportProfile, after: dt.datetime) -> dt.datetime | None:
    """The first time of the profile's daily export after `after` (None: no daily export)."""
    if profile.daily_at is None or not profile.is_active:
        return None
    local = after.astimezone(clock.BERLIN)
    at = dt.datetime.combine(local.date(), profile.daily_at, tzinfo=clock.BERLIN)
    if at <= local:
        at = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), profile.daily_at, tzinfo=clock.BERLIN
        )
    return at.astimezone(dt.UTC)


def schedule(profile: ExportProfile, *, after: dt.datetime | None = None) -> dt.datetime | None:
    """Plan the profile's next daily export (and forget a planned one that is not it)."""
    when = next_run(profile, after or clock.now())
    ExportProfile.objects.filter(pk=profile.pk).update(next_run_at=when)
    profile.next_run_at = when
    if when is not None:
        enqueue(run_daily_export, profile.pk, when.isoformat(), run_after=when)
    return when


@task()
def run_daily_export(profile_id: int, planned: str) -> int:
    """The daily export planned for `planned` (ISO instant); plans the next one first."""
    from rathauskasse.finance import services  # noqa: PLC0415 - services enqueue this task

    when = dt.datetime.fromisoformat(planned)
    with transaction.atomic():
        profile = ExportProfile.objects.select_for_update().filter(pk=profile_id).first()
        if profile is None or profile.next_run_at != when:
            return 0  # superseded: the profile's time changed, or another chain runs it
        schedule(profile, after=when)
    result = services.export_bookings(profile=profile, actor=ACTOR, trigger=ExportTrigger.SCHEDULE)
    return result.records
