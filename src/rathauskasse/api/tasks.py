"""Background work of the API: delivering webhooks."""

from __future__ import annotations

from django_tasks import task

from rathauskasse.api import webhooks


@task()
def deliver_webhook(delivery_id: int) -> str:
    return webhooks.deliver(delivery_id)
