"""Background work of notices: sending them by e-mail, and the daily reminder run.

There is no scheduler: the reminder run of a day enqueues the run of the next day (at
`REMINDER_HOUR`, Europe/Berlin) before it does its work, so a failing run does not break the
chain. `manage.py send_reminders` runs today's and starts the chain; a second chain dies out on
its next day, because a day is run only once (`ReminderRun`).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django_tasks import task

from rathauskasse.core.tasks import enqueue
from rathauskasse.receivables import notices, reminders
from rathauskasse.receivables.models import Notice

BERLIN = ZoneInfo("Europe/Berlin")


@task()
def send_notice(notice_id: int) -> bool:
    return notices.send_notice(notice=Notice.objects.get(pk=notice_id))


def next_run_at(day: dt.date) -> dt.datetime:
    """When the run of the day after `day` is due."""
    hour: int = settings.REMINDER_HOUR
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(hour), tzinfo=BERLIN)


def schedule_after(day: dt.date) -> None:
    enqueue(send_reminders, (day + dt.timedelta(days=1)).isoformat(), run_after=next_run_at(day))


def run_and_schedule(day: dt.date) -> reminders.RunResult:
    """Run the reminders of `day` and, if this was the day's first run, plan the next day's."""
    return reminders.run_reminders(day=day, on_start=lambda: schedule_after(day))


@task()
def send_reminders(day: str) -> int:
    """The reminder run of `day` (ISO date); enqueues the next day's run."""
    return run_and_schedule(dt.date.fromisoformat(day)).reminded
