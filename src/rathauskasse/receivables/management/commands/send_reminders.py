"""`manage.py send_reminders`: today's reminder run, and from now on one every day.

Runs the reminders of today (once per day; a second call the same day does nothing) and plans
the run of the next day at `REMINDER_HOUR`, which plans the one after it, and so on: the task
worker (`manage.py db_worker`) does the rest. Run it once after deploying.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from rathauskasse.core import clock
from rathauskasse.receivables import tasks


class Command(BaseCommand):
    help = "Verschickt die Zahlungserinnerungen von heute und plant den täglichen Lauf."

    def handle(self, *args: Any, **options: Any) -> None:
        today = clock.today()
        result = tasks.run_and_schedule(today)
        if result.already_ran:
            # Planned again all the same: a second chain dies out tomorrow (one run per day).
            tasks.schedule_after(today)
            self.stdout.write(
                f"Die Erinnerungen vom {today:%d.%m.%Y} sind schon verschickt "
                f"({result.reminded}); es wird nichts wiederholt."
            )
        else:
            self.stdout.write(f"{result.reminded} Zahlungserinnerung(en) vom {today:%d.%m.%Y}.")
        if result.failed:
            self.stdout.write(f"{result.failed} ging(en) nicht; sie kommen morgen wieder dran.")
        self.stdout.write(
            f"Nächster Lauf: {tasks.next_run_at(today):%d.%m.%Y %H:%M} Uhr (Task-Worker)."
        )
