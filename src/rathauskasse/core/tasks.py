"""Background work through django-tasks, always enqueued after the transaction commits.

A task sees only committed data, and a rolled-back change never leaves a task behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction


def enqueue_on_commit(
    task: Any, *args: Any, run_after: dt.datetime | None = None, **kwargs: Any
) -> None:
    def _enqueue() -> None:
        target = task.using(run_after=run_after) if run_after is not None else task
        target.enqueue(*args, **kwargs)

    transaction.on_commit(_enqueue, robust=False)
