"""Background work through django-tasks, enqueued as part of the change that causes it.

With the database backend (the platform's configuration) the task row is written in the caller's
transaction: a transactional outbox. The task exists if and only if the change committed, and a
worker sees it only after the commit, so it always reads committed data. A backend that keeps
its queue elsewhere (a broker, the test double) gets the task right after the commit instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django_tasks import task_backends
from django_tasks_db import DatabaseBackend


def enqueue(task: Any, *args: Any, run_after: dt.datetime | None = None, **kwargs: Any) -> None:
    target = task.using(run_after=run_after) if run_after is not None else task
    if isinstance(task_backends[target.backend], DatabaseBackend):
        target.enqueue(*args, **kwargs)
        return
    transaction.on_commit(lambda: target.enqueue(*args, **kwargs), robust=False)
