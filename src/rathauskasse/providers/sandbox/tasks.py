"""Background work of the simulated payment service."""

from __future__ import annotations

from django_tasks import task

from rathauskasse.providers.sandbox import server


@task()
def deliver_notification(notification_id: int) -> bool:
    return server.deliver(notification_id)


@task()
def settle_pending(reference: str) -> str:
    try:
        return str(server.settle(reference=reference).state)
    except server.SandboxError:
        return "not pending"
