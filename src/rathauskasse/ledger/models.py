"""The double-entry ledger: accounts, journal entries and their lines.

Signs: a line's `amount_cents` is positive for a debit (Soll) and negative for a credit (Haben);
the lines of an entry sum to zero. Entries and lines are append-only; a correction is a reversal.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q

from rathauskasse.core.models import AppendOnlyModel
from rathauskasse.organisations.models import BudgetLine, Organisation


class AccountKind(models.TextChoices):
    RECEIVABLES = "receivables", "Forderungen"
    REVENUE = "revenue", "Erträge"
    PROVIDER_CLEARING = "provider_clearing", "Verrechnung Zahlungsdienst"
    BANK = "bank", "Bank"
    SUSPENSE = "suspense", "Verwahrgeld (ungeklärt)"
    FEES = "fees", "Gebühren Zahlungsverkehr"


class Account(models.Model):
    """A ledger account of one organisation, named by a stable `key` ("revenue:12", "bank")."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    name = models.CharField(max_length=200)
    budget_line = models.ForeignKey(
        BudgetLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "Konto"
        verbose_name_plural = "Konten"
        ordering = ("organisation", "key")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "key"], name="account_unique_key"),
            models.CheckConstraint(condition=Q(kind__in=AccountKind.values), name="account_kind"),
            models.CheckConstraint(
                condition=Q(kind=AccountKind.REVENUE, budget_line__isnull=False)
                | (~Q(kind=AccountKind.REVENUE) & Q(budget_line__isnull=True)),
                name="account_revenue_has_budget_line",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EntryKind(models.TextChoices):
    RECEIVABLE_CREATED = "receivable_created", "Sollstellung"
    PAYMENT_SUCCEEDED = "payment_succeeded", "Zahlungseingang"
    REFUND = "refund", "Erstattung"
    REMINDER_FEE = "reminder_fee", "Mahngebühr"
    REVERSAL = "reversal", "Storno"
    BANK_STATEMENT = "bank_statement", "Kontoauszug"


class JournalEntry(AppendOnlyModel):
    """One posting (Buchung): two or more lines that balance to zero."""

    # Covered by the unique (organisation, idempotency_key) index.
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    booking_date = models.DateField("Buchungsdatum", db_index=True)
    created_at = models.DateTimeField("erfasst am")
    kind = models.CharField("Art", max_length=30, choices=EntryKind.choices)
    text = models.CharField("Buchungstext", max_length=200)
    reference = models.CharField("Bezug", max_length=100, blank=True, db_index=True)
    # Makes posting exactly-once: the same business event always carries the same key.
    idempotency_key = models.CharField(max_length=150)
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name="storniert",
    )
    actor_label = models.CharField("erfasst von", max_length=200)

    class Meta:
        verbose_name = "Buchung"
        verbose_name_plural = "Buchungen"
        ordering = ("-id",)
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"], name="journal_entry_idempotent"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="journal_entry_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date:%d.%m.%Y} {self.text}"


class JournalLine(AppendOnlyModel):
    """One side of a posting: signed cents on one account, optionally for one open item."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    amount_cents = models.BigIntegerField("Betrag (Cent, Soll positiv)")
    # The receivable (open item, Offener Posten) a line on the receivables account belongs to,
    # as a plain id: the ledger knows no receivable model.
    open_item_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "Buchungszeile"
        verbose_name_plural = "Buchungszeilen"
        ordering = ("id",)
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount_cents=0), name="journal_line_not_zero"),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["open_item_id"],
                condition=Q(open_item_id__isnull=False),
                name="journal_line_open_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount_cents}"
