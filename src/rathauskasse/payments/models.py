"""Payments, their events, allocations to receivables, and refunds."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rathauskasse.catalogue.models import PaymentMethod
from rathauskasse.core.models import AppendOnlyModel
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.models import Receivable


class PaymentStatus(models.TextChoices):
    CREATED = "created", _("angelegt")
    STARTED = "started", _("beim Zahlungsdienst")
    PENDING = "pending", _("in Bearbeitung")
    SUCCEEDED = "succeeded", _("bezahlt")
    FAILED = "failed", _("abgelehnt")
    CANCELLED = "cancelled", _("abgebrochen")
    EXPIRED = "expired", _("abgelaufen")


TERMINAL = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}
)

#: The state machine of DESIGN §3. A provider may report an outcome before we saw the payer leave
#: (its notification can overtake the redirect), so every unfinished state may reach every outcome.
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.CREATED: frozenset(
        {
            PaymentStatus.STARTED,
            PaymentStatus.PENDING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
            PaymentStatus.EXPIRED,
        }
    ),
    PaymentStatus.STARTED: frozenset(
        {
            PaymentStatus.PENDING,
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
            PaymentStatus.EXPIRED,
        }
    ),
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
            PaymentStatus.EXPIRED,
        }
    ),
    **{state: frozenset() for state in TERMINAL},
}


class RefundStatus(models.TextChoices):
    NONE = "none", "keine"
    PARTIAL = "partial", "teilweise erstattet"
    FULL = "full", "voll erstattet"


class Payment(models.Model):
    """One attempt to pay one or more receivables through one provider."""

    # Indexed together with created_at below, for the organisation's lists.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    public_id = models.UUIDField("Zahlungs-ID", default=uuid.uuid4, unique=True, editable=False)
    amount_cents = models.BigIntegerField("Betrag (Cent)")
    description = models.CharField("Verwendungszweck", max_length=140)
    provider = models.CharField("Zahlungsdienst", max_length=40)
    method = models.CharField("Zahlart", max_length=20, choices=PaymentMethod.choices)
    status = models.CharField(
        "Status", max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.CREATED
    )
    refund_status = models.CharField(
        "Erstattung", max_length=20, choices=RefundStatus.choices, default=RefundStatus.NONE
    )
    provider_reference = models.CharField(
        "Referenz beim Zahlungsdienst", max_length=100, blank=True
    )
    idempotency_key = models.CharField(max_length=150, null=True, blank=True)
    return_url = models.URLField("Rücksprungadresse", max_length=500, blank=True)
    redirect_url = models.URLField("Adresse beim Zahlungsdienst", max_length=1000, blank=True)
    failure_reason = models.CharField("Ablehnungsgrund", max_length=200, blank=True)
    #: Where the receipt goes when the payment succeeds (given by the payer, optional).
    payer_email = models.EmailField("E-Mail für die Quittung", blank=True)
    #: The citizen account the payment belongs to, if the payer had one (or created one after).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="Bürgerkonto",
    )
    receipt_sent_at = models.DateTimeField("Quittung versandt am", null=True, blank=True)
    created_at = models.DateTimeField("angelegt am")
    updated_at = models.DateTimeField("geändert am")
    expires_at = models.DateTimeField("läuft ab am")
    receivables: models.ManyToManyField[Receivable, PaymentAllocation] = models.ManyToManyField(
        Receivable, through="PaymentAllocation", related_name="payments"
    )

    class Meta:
        verbose_name = "Zahlung"
        verbose_name_plural = "Zahlungen"
        ordering = ("-id",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payment_status"
            ),
            models.CheckConstraint(
                condition=Q(method__in=PaymentMethod.values), name="payment_method"
            ),
            models.CheckConstraint(
                condition=Q(refund_status__in=RefundStatus.values), name="payment_refund_status"
            ),
            models.CheckConstraint(
                condition=Q(refund_status=RefundStatus.NONE) | Q(status=PaymentStatus.SUCCEEDED),
                name="payment_refund_only_when_succeeded",
            ),
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="payment_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"],
                condition=~Q(provider_reference=""),
                name="payment_provider_reference",
            ),
        ]
        # Few indexes on purpose: every status change rewrites the row's index entries.
        indexes: ClassVar = [
            models.Index(fields=["organisation", "-created_at"], name="payment_by_organisation"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL


class PaymentAllocation(models.Model):
    """The part of a payment that pays one receivable."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="allocations")
    amount_cents = models.BigIntegerField("Betrag (Cent)")

    class Meta:
        verbose_name = "Zuordnung"
        verbose_name_plural = "Zuordnungen"
        ordering = ("id",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["payment", "receivable"], name="allocation_unique"),
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="allocation_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receivable_id}: {self.amount_cents}"


class EventSource(models.TextChoices):
    CLIENT = "client", "Anlage"
    NOTIFICATION = "notification", "Benachrichtigung des Zahlungsdienstes"
    POLL = "poll", "Statusabfrage"
    STAFF = "staff", "Mitarbeitende"
    SYSTEM = "system", "System"


class PaymentEvent(AppendOnlyModel):
    """What happened to a payment, in order; a status change records from and to."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    created_at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=20, choices=EventSource.choices)
    provider_event_id = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "Zahlungsereignis"
        verbose_name_plural = "Zahlungsereignisse"
        ordering = ("id",)
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(source__in=EventSource.values), name="payment_event_source"
            ),
            # The same status change is recorded once, however often and however it is reported.
            models.UniqueConstraint(
                fields=["payment", "to_status"],
                condition=~Q(to_status=""),
                name="payment_event_one_per_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}→{self.to_status}"


class RefundState(models.TextChoices):
    PENDING = "pending", "in Bearbeitung"
    SUCCEEDED = "succeeded", "erstattet"
    FAILED = "failed", "fehlgeschlagen"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    amount_cents = models.BigIntegerField("Betrag (Cent)")
    reason = models.CharField("Grund", max_length=200)
    status = models.CharField(
        max_length=20, choices=RefundState.choices, default=RefundState.PENDING
    )
    provider_reference = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "Erstattung"
        verbose_name_plural = "Erstattungen"
        ordering = ("id",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=RefundState.values), name="refund_status"
            ),
        ]

    def __str__(self) -> str:
        return f"Erstattung {self.amount_cents} ({self.get_status_display()})"


class RefundAllocation(models.Model):
    """The part of a refund that reopens one receivable."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="allocations")
    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="+")
    amount_cents = models.BigIntegerField()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="refund_allocation_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receivable_id}: {self.amount_cents}"
