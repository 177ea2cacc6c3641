"""What the REST API keeps: API keys of integrators, and the responses to idempotent requests."""

from __future__ import annotations

import secrets
from functools import cached_property
from typing import ClassVar

from django.db import models
from django.db.models import Q

from rathauskasse.organisations.models import Department, Organisation


class Scope(models.TextChoices):
    RECEIVABLES_READ = "receivables:read", "Forderungen lesen"
    RECEIVABLES_WRITE = "receivables:write", "Forderungen anlegen und stornieren"
    PAYMENTS_READ = "payments:read", "Zahlungen lesen"
    PAYMENTS_WRITE = "payments:write", "Zahlungen anlegen und abbrechen"
    REFUNDS_WRITE = "refunds:write", "Erstattungen anlegen"
    EVENTS_READ = "events:read", "Ereignisse lesen"


class ApiKey(models.Model):
    """An integrator's key (a Fachverfahren). Only a digest of its secret is stored."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(
        "Bezeichnung", max_length=100, help_text="z. B. „Hundesteuer-Fachverfahren“"
    )
    mode = models.CharField(
        "Art",
        max_length=4,
        choices=[("live", "echt"), ("test", "Test (nur Sandbox)")],
        default="test",
    )
    key_id = models.CharField("Kennung", max_length=10, unique=True, editable=False)
    secret_digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField("Rechte", default=list)
    departments = models.ManyToManyField(
        Department,
        blank=True,
        related_name="+",
        verbose_name="nur für diese Ämter",
        help_text="Leer: alle Ämter der Organisation.",
    )
    created_at = models.DateTimeField("angelegt am")
    last_used_at = models.DateTimeField("zuletzt benutzt", null=True, blank=True)
    revoked_at = models.DateTimeField("widerrufen am", null=True, blank=True)

    class Meta:
        verbose_name = "API-Schlüssel"
        verbose_name_plural = "API-Schlüssel"
        ordering = ("-created_at",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(mode__in=["live", "test"]), name="api_key_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.mode}_{self.key_id}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @cached_property
    def limited_to_departments(self) -> list[int] | None:
        """Ids of the departments the key is limited to; None: the whole organisation."""
        from rathauskasse.core import sql  # noqa: PLC0415 - models load before the SQL helpers

        through = ApiKey.departments.through
        ids = [
            row[0] for row in sql.select(through, ["department_id"], where={"apikey_id": self.pk})
        ]
        return ids or None


class IdempotentResponse(models.Model):
    """The first response to a POST with an `Idempotency-Key`, replayed for 24 hours."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotent_response_key"),
        ]
        indexes: ClassVar = [models.Index(fields=["created_at"], name="idempotent_by_age")]

    def __str__(self) -> str:
        return f"{self.api_key_id}:{self.key}"


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where an integrator wants to hear about events, and the secret that signs them."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    url = models.URLField("Adresse", max_length=500)
    events = models.JSONField(
        "Ereignisse",
        default=list,
        blank=True,
        help_text='z. B. ["payment.succeeded", "receivable.paid"]; leer: alle.',
    )
    secret = models.CharField(
        "Signaturschlüssel", max_length=100, default=new_webhook_secret, editable=False
    )
    is_active = models.BooleanField("aktiv", default=True)
    created_at = models.DateTimeField("angelegt am", auto_now_add=True)

    class Meta:
        verbose_name = "Webhook"
        verbose_name_plural = "Webhooks"

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryState(models.TextChoices):
    PENDING = "pending", "wird zugestellt"
    DELIVERED = "delivered", "zugestellt"
    FAILED = "failed", "aufgegeben"


class WebhookDelivery(models.Model):
    """One event for one endpoint, delivered at least once (retried with growing delays)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        "Stand", max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField("Versuche", default=0)
    next_attempt_at = models.DateTimeField("nächster Versuch", null=True, blank=True)
    delivered_at = models.DateTimeField("zugestellt am", null=True, blank=True)
    created_at = models.DateTimeField("angelegt am")

    class Meta:
        verbose_name = "Webhook-Zustellung"
        verbose_name_plural = "Webhook-Zustellungen"
        ordering = ("-id",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values), name="webhook_delivery_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """One try to deliver: what the endpoint answered, or why it could not be reached."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField("Zeitpunkt")
    status_code = models.PositiveSmallIntegerField("HTTP-Status", null=True, blank=True)
    error = models.CharField("Fehler", max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField("Dauer (ms)", default=0)

    class Meta:
        verbose_name = "Zustellversuch"
        verbose_name_plural = "Zustellversuche"
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.at:%d.%m.%Y %H:%M:%S} {self.status_code or self.error}"
