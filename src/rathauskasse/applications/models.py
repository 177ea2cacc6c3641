"""Applications (Anträge): a citizen's submitted form for a service, and its states."""

from __future__ import annotations

import secrets
import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rathauskasse.catalogue.models import Service
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.models import Receivable

#: Crockford's base 32 without I, L, O, U: nothing to misread when a citizen quotes it by phone.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """The number a citizen quotes, e.g. ``A-7K3M-9QXD`` (40 bits, unique per organisation)."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"A-{code[:4]}-{code[4:]}"


class ApplicationStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("wartet auf Zahlung")
    SUBMITTED = "submitted", _("eingereicht")
    IN_REVIEW = "in_review", _("in Bearbeitung")
    APPROVED = "approved", _("bewilligt")
    REJECTED = "rejected", _("abgelehnt")
    CLOSED = "closed", _("abgeschlossen")


class Application(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="applications")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField("Antragsnummer", max_length=20, default=new_reference)
    status = models.CharField("Status", max_length=20, choices=ApplicationStatus.choices)
    answers = models.JSONField("Angaben", default=dict)
    applicant_name = models.CharField("Name", max_length=200)
    applicant_email = models.EmailField("E-Mail", blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
        verbose_name="Bürgerkonto",
    )
    fee_cents = models.BigIntegerField("Gebühr (Cent)", default=0)
    receivable = models.OneToOneField(
        Receivable,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="application",
        verbose_name="Forderung",
    )
    #: One per filled-in form: a double click or a reload of the confirmation submits once.
    submission_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField("angelegt am")
    submitted_at = models.DateTimeField("eingereicht am", null=True, blank=True)

    class Meta:
        verbose_name = "Antrag"
        verbose_name_plural = "Anträge"
        ordering = ("-created_at",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="application_unique_reference"
            ),
            models.UniqueConstraint(
                fields=["organisation", "submission_key"], name="application_unique_submission"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values), name="application_status"
            ),
            models.CheckConstraint(condition=Q(fee_cents__gte=0), name="application_fee"),
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.AWAITING_PAYMENT)
                | Q(receivable__isnull=False),
                name="application_awaiting_payment_has_receivable",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["service", "status"], name="application_by_service"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.service}"

    @property
    def is_submitted(self) -> bool:
        return self.status != ApplicationStatus.AWAITING_PAYMENT
