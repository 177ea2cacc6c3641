"""The sandbox's own books: what a real payment service keeps on its servers.

These tables belong to the simulated payment service, not to the platform; the adapter that the
payments domain talks to never writes here, it only calls the sandbox server's functions.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class SandboxState(models.TextChoices):
    STARTED = "started", "wartet auf Zahlende"
    PENDING = "pending", "in Bearbeitung"
    SUCCEEDED = "succeeded", "bezahlt"
    FAILED = "failed", "abgelehnt"
    CANCELLED = "cancelled", "abgebrochen"
    EXPIRED = "expired", "abgelaufen"


class SandboxTransaction(models.Model):
    reference = models.CharField(max_length=40, unique=True)
    payment_reference = models.CharField(max_length=100, unique=True)
    amount_cents = models.BigIntegerField()
    description = models.CharField(max_length=140)
    method = models.CharField(max_length=20)
    payer_method = models.CharField(max_length=20, blank=True)
    return_url = models.URLField(max_length=500, blank=True)
    notify_url = models.URLField(max_length=500)
    state = models.CharField(
        max_length=20, choices=SandboxState.choices, default=SandboxState.STARTED
    )
    pending_outcome = models.CharField(max_length=20, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    refunded_cents = models.BigIntegerField(default=0)
    event_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Sandbox-Transaktion"
        verbose_name_plural = "Sandbox-Transaktionen"

    def __str__(self) -> str:
        return self.reference


class SandboxNotification(models.Model):
    """One state change, to be delivered to the platform's notification endpoint."""

    transaction = models.ForeignKey(
        SandboxTransaction, on_delete=models.CASCADE, related_name="notifications"
    )
    seq = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=SandboxState.choices)
    created_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["transaction", "seq"], name="sandbox_notification_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id}:{self.seq} {self.state}"

    @property
    def event_id(self) -> str:
        return f"{self.transaction.reference}:{self.seq}"


class SandboxRefund(models.Model):
    transaction = models.ForeignKey(
        SandboxTransaction, on_delete=models.CASCADE, related_name="refunds"
    )
    refund_reference = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    amount_cents = models.BigIntegerField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.reference


class SandboxPayout(models.Model):
    """A collective transfer of succeeded payments to the organisation's bank account."""

    reference = models.CharField("Auszahlungsreferenz", max_length=40, unique=True)
    amount_cents = models.BigIntegerField("ausgezahlt (Cent)")
    fee_cents = models.BigIntegerField("Gebühren (Cent)", default=0)
    created_at = models.DateTimeField("ausgezahlt am")

    class Meta:
        verbose_name = "Sandbox-Auszahlung"
        verbose_name_plural = "Sandbox-Auszahlungen"
        ordering = ("-id",)

    def __str__(self) -> str:
        return self.reference


class SandboxPayoutItem(models.Model):
    payout = models.ForeignKey(SandboxPayout, on_delete=models.CASCADE, related_name="items")
    #: A transaction is paid out once.
    transaction = models.OneToOneField(
        SandboxTransaction, on_delete=models.PROTECT, related_name="payout_item"
    )
    amount_cents = models.BigIntegerField()
    fee_cents = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.payout_id}: {self.transaction_id}"
