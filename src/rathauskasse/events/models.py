"""Business events for integrators, written in the transaction of the change (an outbox)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from rathauskasse.core.models import AppendOnlyModel
from rathauskasse.organisations.models import Organisation


class EventType(models.TextChoices):
    PAYMENT_SUCCEEDED = "payment.succeeded", "Zahlung erfolgreich"
    PAYMENT_FAILED = "payment.failed", "Zahlung abgelehnt"
    PAYMENT_CANCELLED = "payment.cancelled", "Zahlung abgebrochen"
    PAYMENT_EXPIRED = "payment.expired", "Zahlung abgelaufen"
    REFUND_SUCCEEDED = "refund.succeeded", "Erstattung ausgeführt"
    REFUND_FAILED = "refund.failed", "Erstattung fehlgeschlagen"
    RECEIVABLE_PAID = "receivable.paid", "Forderung bezahlt"
    RECEIVABLE_CANCELLED = "receivable.cancelled", "Forderung storniert"


class Event(AppendOnlyModel):
    """One thing that happened; its id orders the feed (`GET /api/v1/events?after=`)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    type = models.CharField("Art", max_length=40, choices=EventType.choices)
    data = models.JSONField("Daten")
    created_at = models.DateTimeField("Zeitpunkt")

    class Meta:
        verbose_name = "Ereignis"
        verbose_name_plural = "Ereignisse"
        ordering = ("id",)
        indexes: ClassVar = [models.Index(fields=["organisation", "id"], name="event_feed")]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
