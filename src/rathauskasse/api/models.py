"""What the REST API keeps: API keys of integrators, and the responses to idempotent requests."""

from __future__ import annotations

import re
import secrets
from functools import cached_property
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from rathauskasse.catalogue.models import PaymentMethod
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.models import Receivable


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


# --- XBezahldienste (Rathauskasse as the Bezahldienst of online services) ----------------------


def default_xbezahldienste_provider() -> str:
    from django.conf import settings  # noqa: PLC0415 - read when a row is made, not at import

    provider: str = settings.PORTAL_PAYMENT_PROVIDER
    return provider


class BookingTarget(models.TextChoices):
    """Where a booking-data value of an item goes (the values of `booking_data_mapping`)."""

    BUDGET_LINE = "budget_line", "Haushaltsstelle (Code)"
    DEBTOR_ACCOUNT = "debtor_account", "Personenkonto"


class XBezahldiensteEndpoint(models.Model):
    """One (originatorId, endPointId) pair: who may call, and where its payments are booked.

    Secrets are stored as Django password hashes only; the admin sets them, nobody reads them.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(
        "Bezeichnung", max_length=100, help_text="z. B. „Online-Dienst Hundeanmeldung“"
    )
    originator_id = models.CharField(
        "originatorId", max_length=36, help_text="Kennung des Online-Dienstes (bis 36 Zeichen)."
    )
    endpoint_id = models.CharField(
        "endPointId", max_length=36, help_text="Kennung des Endpunkts (bis 36 Zeichen)."
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name="Amt"
    )
    default_budget_line = models.ForeignKey(
        BudgetLine,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Haushaltsstelle (Vorgabe)",
        help_text="Für Positionen, deren Buchungsdaten keine Haushaltsstelle nennen.",
    )
    provider = models.CharField(
        "Zahlungsdienst",
        max_length=40,
        default=default_xbezahldienste_provider,
        help_text="Ein Schlüssel aus PAYMENT_PROVIDERS.",
    )
    method = models.CharField(
        "Zahlart beim Start",
        max_length=20,
        choices=PaymentMethod.choices,
        default=PaymentMethod.CARD,
        help_text="Die zahlende Person wählt die tatsächliche Zahlart auf der Seite des "
        "Zahlungsdienstes.",
    )
    booking_data_mapping = models.JSONField(
        "Zuordnung der Buchungsdaten",
        default=dict,
        blank=True,
        help_text='z. B. {"Haushaltsstelle": "budget_line", "Personenkonto": "debtor_account"}',
    )
    required_booking_keys = models.JSONField(
        "Pflicht-Buchungsdaten",
        default=list,
        blank=True,
        help_text="Schlüssel, die jede Position in bookingData tragen muss, "
        'z. B. ["Haushaltsstelle"]',
    )
    is_enabled = models.BooleanField("aktiv", default=True)
    basic_username = models.CharField("Benutzername (HTTP Basic)", max_length=100, blank=True)
    basic_password_hash = models.CharField(max_length=128, blank=True, editable=False)
    oauth_client_id = models.CharField(
        "OAuth2-Client-ID", max_length=40, blank=True, editable=False
    )
    oauth_secret_hash = models.CharField(max_length=128, blank=True, editable=False)
    client_cert_sha256 = models.CharField(
        "SHA-256 des Client-Zertifikats (mTLS)",
        max_length=64,
        blank=True,
        help_text="64 Hex-Zeichen; nur wirksam, wenn XBEZAHLDIENSTE_CLIENT_CERT_HEADER "
        "gesetzt ist.",
    )
    created_at = models.DateTimeField("angelegt am", auto_now_add=True)
    updated_at = models.DateTimeField("geändert am", auto_now=True)

    class Meta:
        verbose_name = "XBezahldienste-Endpunkt"
        verbose_name_plural = "XBezahldienste-Endpunkte"
        ordering = ("originator_id", "endpoint_id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["originator_id", "endpoint_id"], name="xbd_endpoint_unique_pair"
            ),
            models.UniqueConstraint(
                fields=["oauth_client_id"],
                condition=~Q(oauth_client_id=""),
                name="xbd_endpoint_unique_client_id",
            ),
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values), name="xbd_endpoint_method"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.originator_id}/{self.endpoint_id} ({self.name})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for field in ("originator_id", "endpoint_id"):
            if not re.fullmatch(r"[\w\d-]{1,36}", getattr(self, field) or ""):
                errors[field] = "Nur Buchstaben, Ziffern, _ und -, höchstens 36 Zeichen."
        if self.department_id and self.department.organisation_id != self.organisation_id:
            errors["department"] = "Das Amt gehört nicht zu dieser Organisation."
        if (
            self.default_budget_line_id
            and self.default_budget_line.organisation_id != self.organisation_id
        ):
            errors["default_budget_line"] = (
                "Die Haushaltsstelle gehört nicht zu dieser Organisation."
            )
        mapping = self.booking_data_mapping
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and k and v in BookingTarget.values for k, v in mapping.items()
        ):
            errors["booking_data_mapping"] = (
                "Ein Objekt aus Schlüsseln und Zielen; Ziele: " + ", ".join(BookingTarget.values)
            )
        keys = self.required_booking_keys
        if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
            errors["required_booking_keys"] = (
                'Eine Liste von Schlüsseln, z. B. ["Haushaltsstelle"].'
            )
        if self.client_cert_sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.client_cert_sha256):
            errors["client_cert_sha256"] = "64 Hex-Zeichen (SHA-256), Doppelpunkte erlaubt."
        from django.conf import settings  # noqa: PLC0415

        if self.provider not in settings.PAYMENT_PROVIDERS:
            errors["provider"] = "Diesen Zahlungsdienst gibt es nicht (PAYMENT_PROVIDERS)."
        if errors:
            raise ValidationError(errors)


def new_xbezahldienste_transaction_id() -> str:
    """Our transactionId: 192 random bits, URL-safe, 35 characters (the standard allows 36)."""
    return "rk-" + secrets.token_urlsafe(24)


class XBezahldiensteTransaction(models.Model):
    """A PaymentTransaction: the request as received, and the receivable and payment it made.

    Its status is not stored: it is derived from the payment whenever it is read. A transaction
    whose payment could not be started is withdrawn (everything it made is reversed), and its
    requestId may be placed again.
    """

    endpoint = models.ForeignKey(
        XBezahldiensteEndpoint,
        on_delete=models.PROTECT,
        related_name="transactions",
        verbose_name="Endpunkt",
    )
    # Every query of transactions is scoped by organisation as well as by the pair.
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    transaction_id = models.CharField(
        "transactionId", max_length=36, unique=True, default=new_xbezahldienste_transaction_id
    )
    request_id = models.CharField("requestId", max_length=36)
    received_request = models.TextField("PaymentRequest wie empfangen")
    redirect_url = models.CharField("redirectUrl", max_length=2082)
    receivable = models.OneToOneField(
        Receivable, on_delete=models.PROTECT, related_name="+", verbose_name="Forderung"
    )
    payment = models.OneToOneField(
        "payments.Payment", on_delete=models.PROTECT, related_name="+", verbose_name="Zahlung"
    )
    created_at = models.DateTimeField("angelegt am")
    withdrawn_at = models.DateTimeField(
        "zurückgezogen am",
        null=True,
        blank=True,
        help_text="Der Zahlungsdienst war beim Anlegen nicht erreichbar; alles wurde storniert.",
    )

    class Meta:
        verbose_name = "XBezahldienste-Transaktion"
        verbose_name_plural = "XBezahldienste-Transaktionen"
        ordering = ("-id",)
        constraints: ClassVar = [
            # PAYMENT_EXISTS, also for two requests racing: the second INSERT fails here.
            models.UniqueConstraint(
                fields=["endpoint", "request_id"],
                condition=Q(withdrawn_at__isnull=True),
                name="xbd_transaction_unique_request",
            ),
        ]

    def __str__(self) -> str:
        return self.transaction_id
