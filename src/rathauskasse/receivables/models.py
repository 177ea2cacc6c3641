"""Receivables (Forderungen) with their lines, and the Kassenzeichen counter."""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.db import models
from django.db.models import Q

from rathauskasse.catalogue.models import Service
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.kassenzeichen import Scheme


class ReceivableStatus(models.TextChoices):
    OPEN = "open", "offen"
    PAID = "paid", "bezahlt"
    CANCELLED = "cancelled", "storniert"


class ReceivableSource(models.TextChoices):
    APPLICATION = "application", "Antrag"
    NOTICE = "notice", "Bescheid"
    API = "api", "Schnittstelle"
    IMPORT = "import", "Import"
    XBEZAHLDIENSTE = "xbezahldienste", "XBezahldienste (Online-Dienst)"


def new_pay_token() -> str:
    """An unguessable token for the pay link on the letter (`/p/<token>`), 128 bits."""
    return secrets.token_urlsafe(16)


class Receivable(models.Model):
    """Money the organisation is owed. Its open amount is its balance in the ledger.

    `status` mirrors the ledger for fast lists: it is set in the same transaction as every posting
    that moves the balance, never on its own.
    """

    # Covered by the unique (organisation, kassenzeichen) index.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kassenzeichen = models.CharField("Kassenzeichen", max_length=35)
    purpose = models.CharField("Zweck", max_length=140)
    amount_cents = models.BigIntegerField("Betrag (Cent)")
    due_date = models.DateField("fällig am")
    status = models.CharField(
        "Status", max_length=20, choices=ReceivableStatus.choices, default=ReceivableStatus.OPEN
    )
    source = models.CharField("Herkunft", max_length=20, choices=ReceivableSource.choices)
    source_reference = models.CharField("Bezug in der Herkunft", max_length=100, blank=True)
    allows_overpayment = models.BooleanField("Überzahlung erlaubt", default=False)

    debtor_name = models.CharField("Name", max_length=200)
    debtor_street = models.CharField("Straße und Hausnummer", max_length=200, blank=True)
    debtor_postcode = models.CharField("PLZ", max_length=10, blank=True)
    debtor_city = models.CharField("Ort", max_length=100, blank=True)
    debtor_country = models.CharField("Land", max_length=2, default="DE")
    debtor_email = models.EmailField("E-Mail", blank=True)
    debtor_account = models.CharField("Personenkonto", max_length=30, blank=True)

    pay_token = models.CharField(
        "Token des Zahlungslinks", max_length=32, unique=True, default=new_pay_token, editable=False
    )
    created_at = models.DateTimeField("angelegt am")
    updated_at = models.DateTimeField("geändert am")
    #: When the ledger balance last reached zero; cleared when the receivable is open again.
    paid_at = models.DateTimeField("bezahlt am", null=True, blank=True)

    class Meta:
        verbose_name = "Forderung"
        verbose_name_plural = "Forderungen"
        ordering = ("-id",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "kassenzeichen"], name="receivable_unique_kassenzeichen"
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="receivable_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReceivableStatus.values), name="receivable_status"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ReceivableSource.values), name="receivable_source"
            ),
        ]
        # No index on status: every payment changes it, and an indexed status would make each of
        # those updates rewrite all of the row's index entries. Work lists come later.

    def __str__(self) -> str:
        return f"{self.kassenzeichen_display} {self.purpose}"

    @property
    def kassenzeichen_display(self) -> str:
        return Scheme.of(self.organisation).display(self.kassenzeichen)


class ReceivableLine(models.Model):
    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField("Pos.")
    text = models.CharField("Text", max_length=200)
    amount_cents = models.BigIntegerField("Betrag (Cent)")
    budget_line = models.ForeignKey(
        BudgetLine, on_delete=models.PROTECT, related_name="+", verbose_name="Haushaltsstelle"
    )
    booking_data = models.JSONField("Buchungsdaten", default=dict, blank=True)

    class Meta:
        verbose_name = "Forderungsposition"
        verbose_name_plural = "Forderungspositionen"
        ordering = ("receivable", "position")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["receivable", "position"], name="receivable_line_position"
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="receivable_line_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.text


class KassenzeichenCounter(models.Model):
    """The last running number used per organisation and year; advanced under a row lock."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.BigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "year"], name="kz_counter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.year}: {self.last_number}"
