"""Tasks are a transactional outbox: written with the change, gone with its rollback."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from rathauskasse.core.tasks import enqueue
from rathauskasse.payments.tasks import check_payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_queue(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class _Rollback(Exception):
    pass


def test_a_task_is_written_in_the_transaction_of_its_cause(database_queue: None) -> None:
    with transaction.atomic():
        enqueue(check_payment, 42)
        # Already a row inside the transaction, before any commit hook could have run.
        assert DBTaskResult.objects.filter(task_path__endswith="check_payment").count() == 1
    assert DBTaskResult.objects.get().args_kwargs == {"args": [42], "kwargs": {}}


def test_a_rolled_back_change_leaves_no_task(database_queue: None) -> None:
    with pytest.raises(_Rollback), transaction.atomic():
        enqueue(check_payment, 42)
        raise _Rollback
    assert not DBTaskResult.objects.exists()
