"""Bank accounts, imported statement files, their statements and lines, and what was booked.

A file (`StatementFile`) holds one or more statements (`Statement`, one account and period
each), a statement holds lines (`StatementLine`). Every line records the matcher's decision (rule,
outcome, reason) and the posting that carried it out; the receivables it paid are its
`LineAllocation`s. Lines are written once; later steps (a return of the booking, clearing) only
move `clearing_status` and post new entries, never change a posting.

Ledger accounts: each bank account has its own Bank account in the ledger (`bank:<IBAN>`), so
that its balance can be compared with the statement's closing balance; Suspense (Verwahrgeld)
and the provider clearing accounts are one per organisation (and provider), as before.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from rathauskasse.core.models import AppendOnlyModel
from rathauskasse.ledger import rules
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.ledger.rules import AccountRef
from rathauskasse.organisations.fields import CompactCodeField
from rathauskasse.organisations.models import Organisation
from rathauskasse.organisations.validators import validate_iban
from rathauskasse.receivables.models import Receivable


class BankAccount(models.Model):
    """One of the organisation's accounts at a bank; statements are imported for it."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    iban = CompactCodeField("IBAN", max_length=34, validators=[validate_iban])
    name = models.CharField("Bezeichnung", max_length=100)
    is_active = models.BooleanField(
        "aktiv", default=True, help_text="Für inaktive Konten werden keine Auszüge importiert."
    )

    class Meta:
        verbose_name = "Bankkonto"
        verbose_name_plural = "Bankkonten"
        ordering = ("organisation", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "iban"], name="bank_account_iban"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.iban})"

    @property
    def ledger_account(self) -> AccountRef:
        return rules.bank(self.iban)


class FileStatus(models.TextChoices):
    QUEUED = "queued", "wartet"
    RUNNING = "running", "wird importiert"
    IMPORTED = "imported", "importiert"
    DUPLICATE = "duplicate", "bereits importiert"
    REJECTED = "rejected", "abgelehnt"
    FAILED = "failed", "fehlgeschlagen"


class StatementFile(models.Model):
    """One uploaded or imported file; imported at most once per organisation (SHA-256)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    file_name = models.CharField("Datei", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64)
    size_bytes = models.BigIntegerField("Größe (Byte)", default=0)
    #: The bytes of an upload, kept for the background task and as the original of the booking.
    content = models.BinaryField("Inhalt", editable=False, default=b"")
    format = models.CharField("Format", max_length=40, blank=True)
    status = models.CharField(
        "Status", max_length=20, choices=FileStatus.choices, default=FileStatus.QUEUED
    )
    message = models.TextField("Meldung", blank=True)
    #: Progress while the background task runs: lines read or booked of `progress_total`.
    progress_done = models.PositiveIntegerField("bearbeitet", default=0)
    progress_total = models.PositiveIntegerField("Zeilen insgesamt", default=0)
    lines_new = models.PositiveIntegerField("neue Zeilen", default=0)
    lines_duplicate = models.PositiveIntegerField("doppelte Zeilen", default=0)
    lines_booked = models.PositiveIntegerField("gebucht", default=0)
    lines_flagged = models.PositiveIntegerField("gebucht, zu prüfen", default=0)
    lines_clearing = models.PositiveIntegerField("in der Klärung", default=0)
    credit_cents = models.BigIntegerField("Eingänge (Cent)", default=0)
    debit_cents = models.BigIntegerField("Ausgänge (Cent)", default=0)
    clearing_cents = models.BigIntegerField("davon ungeklärt (Cent)", default=0)
    actor_label = models.CharField("importiert von", max_length=200)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="hochgeladen von",
    )
    created_at = models.DateTimeField("hochgeladen am")
    finished_at = models.DateTimeField("fertig am", null=True, blank=True)

    class Meta:
        verbose_name = "Kontoauszugsdatei"
        verbose_name_plural = "Kontoauszugsdateien"
        ordering = ("-id",)
        constraints: ClassVar = [
            # Refused or failed attempts may be repeated; an imported file exists once.
            models.UniqueConstraint(
                fields=["organisation", "sha256"],
                condition=Q(status="imported"),
                name="statement_file_once",
            ),
            models.CheckConstraint(
                condition=Q(status__in=FileStatus.values), name="statement_file_status"
            ),
        ]

    def __str__(self) -> str:
        return self.file_name


class Statement(models.Model):
    """One statement of a file: one account, one period (camt Stmt/Rpt/Ntfctn, MT940 :20:)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    file = models.ForeignKey(StatementFile, on_delete=models.PROTECT, related_name="statements")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statements"
    )
    format = models.CharField("Format", max_length=40)
    statement_id = models.CharField("Auszugs-ID", max_length=100, blank=True)
    sequence_number = models.CharField("Auszugsnummer", max_length=40, blank=True)
    created_at = models.DateTimeField("erstellt (Bank)", null=True, blank=True)
    from_date = models.DateField("von", null=True, blank=True)
    to_date = models.DateField("bis", null=True, blank=True)
    opening_balance_cents = models.BigIntegerField("Anfangssaldo (Cent)", null=True, blank=True)
    closing_balance_cents = models.BigIntegerField("Endsaldo (Cent)", null=True, blank=True)
    lines_total = models.PositiveIntegerField("Zeilen", default=0)
    lines_new = models.PositiveIntegerField("neue Zeilen", default=0)
    imported_at = models.DateTimeField("importiert am")
    actor_label = models.CharField("importiert von", max_length=200)

    class Meta:
        verbose_name = "Kontoauszug"
        verbose_name_plural = "Kontoauszüge"
        ordering = ("-id",)
        indexes: ClassVar = [models.Index(fields=["organisation", "bank_account", "to_date"])]

    def __str__(self) -> str:
        return f"{self.statement_id or self.sequence_number} ({self.bank_account.iban})"


class Outcome(models.TextChoices):
    BOOKED = "booked", "gebucht"
    FLAGGED = "flagged", "gebucht, zu prüfen"
    CLEARING = "clearing", "in der Klärung"


class Rule(models.TextChoices):
    EXACT = "exact", "Betrag passt genau"
    PARTIAL = "partial", "Teilzahlung"
    OVERPAID = "overpaid", "Überzahlung"
    SPLIT = "split", "mehrere Kassenzeichen"
    DUPLICATE = "duplicate", "bereits bezahlt oder storniert"
    AMBIGUOUS = "ambiguous", "nicht eindeutig"
    NO_REFERENCE = "no_reference", "kein Kassenzeichen"
    REVERSAL = "reversal", "Rücklastschrift oder Storno"
    PAYOUT = "payout", "Sammelauszahlung eines Zahlungsdienstes"
    OUTGOING = "outgoing", "Ausgang"


class ClearingStatus(models.TextChoices):
    NONE = "none", "nichts zu tun"
    REVIEW = "review", "gebucht, bitte prüfen"
    OPEN = "open", "wartet in der Klärung"
    HELD = "held", "bleibt im Verwahrgeld"
    REFUND = "refund", "zur Rückzahlung vorgemerkt"
    CLEARED = "cleared", "geklärt"
    RETURNED = "returned", "zurückgebucht"


#: Lines the cash office still has to look at.
TO_DO = (ClearingStatus.OPEN, ClearingStatus.REVIEW)


class StatementLine(models.Model):
    """One transaction of a statement as the bank reported it, and what was booked for it."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="lines")
    # Covered by the unique (bank account, dedup key) index.
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    #: The bank's identifiers of the line (see `services.dedup_key`); a line is imported once.
    dedup_key = models.CharField(max_length=255)
    entry_index = models.PositiveIntegerField("Buchung Nr.")
    transaction_index = models.PositiveIntegerField("Transaktion Nr.", default=0)
    amount_cents = models.BigIntegerField("Betrag (Cent)")
    currency = models.CharField("Währung", max_length=3, default="EUR")
    booking_date = models.DateField("Buchungstag", null=True, blank=True)
    value_date = models.DateField("Wertstellung", null=True, blank=True)
    reversal = models.BooleanField("Storno/Rückbuchung", default=False)
    return_reason = models.CharField("Rückgabegrund", max_length=35, blank=True)
    charges_cents = models.BigIntegerField("Entgelt (Cent)", default=0)
    remittance_text = models.TextField("Verwendungszweck", blank=True)
    structured_reference = models.CharField("strukturierte Referenz", max_length=35, blank=True)
    end_to_end_id = models.CharField("EndToEndId", max_length=35, blank=True)
    account_servicer_reference = models.CharField("Bankreferenz", max_length=100, blank=True)
    entry_reference = models.CharField("NtryRef", max_length=100, blank=True)
    customer_reference = models.CharField("Kundenreferenz", max_length=100, blank=True)
    mandate_id = models.CharField("Mandatsreferenz", max_length=35, blank=True)
    creditor_id = models.CharField("Gläubiger-ID", max_length=35, blank=True)
    counterparty_name = models.CharField("Name", max_length=140, blank=True)
    counterparty_iban = models.CharField("IBAN", max_length=34, blank=True)
    counterparty_bic = models.CharField("BIC", max_length=11, blank=True)
    ultimate_party_name = models.CharField("abweichender Name", max_length=140, blank=True)
    bank_transaction_code = models.CharField("Geschäftsvorfall", max_length=40, blank=True)
    batch = models.BooleanField("Sammelbuchung", default=False)
    batch_count = models.PositiveIntegerField("Anzahl in der Sammelbuchung", default=1)
    additional_info = models.TextField("Buchungstext", blank=True)
    extra = models.JSONField("weitere Angaben", default=dict, blank=True)

    # The decision and how it was carried out.
    rule = models.CharField("Regel", max_length=20, choices=Rule.choices)
    outcome = models.CharField("Ergebnis", max_length=20, choices=Outcome.choices)
    reason = models.TextField("Begründung")
    candidates = models.JSONField("gelesene Kassenzeichen", default=list, blank=True)
    suspense_cents = models.BigIntegerField("auf Verwahrgeld (Cent)", default=0)
    clearing_status = models.CharField(
        "Klärung", max_length=20, choices=ClearingStatus.choices, default=ClearingStatus.NONE
    )
    payout_provider = models.CharField("Zahlungsdienst", max_length=40, blank=True)
    payout_reference = models.CharField("Auszahlungsreferenz", max_length=100, blank=True)
    journal_entry = models.ForeignKey(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Buchung",
    )
    #: For a return or reversal: the line whose booking it reversed.
    reverses = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        verbose_name="storniert Zeile",
    )

    class Meta:
        verbose_name = "Kontoauszugszeile"
        verbose_name_plural = "Kontoauszugszeilen"
        ordering = ("statement", "entry_index", "transaction_index")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["bank_account", "dedup_key"], name="statement_line_once"
            ),
            models.CheckConstraint(condition=Q(rule__in=Rule.values), name="statement_line_rule"),
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values), name="statement_line_outcome"
            ),
            models.CheckConstraint(
                condition=Q(clearing_status__in=ClearingStatus.values),
                name="statement_line_clearing_status",
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["organisation", "clearing_status"],
                condition=Q(clearing_status__in=["open", "review"]),
                name="statement_line_clearing",
            ),
            models.Index(
                fields=["bank_account", "end_to_end_id"],
                condition=~Q(end_to_end_id=""),
                name="statement_line_e2e",
            ),
            models.Index(
                fields=["bank_account", "mandate_id"],
                condition=~Q(mandate_id=""),
                name="statement_line_mandate",
            ),
            models.Index(
                fields=["organisation", "payout_provider", "payout_reference"],
                condition=~Q(payout_reference=""),
                name="statement_line_payout",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount_cents} {self.counterparty_name}"


class LineAllocation(models.Model):
    """Cents of a line booked to (positive) or taken back from (negative) one receivable."""

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="allocations")
    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="+")
    amount_cents = models.BigIntegerField("Betrag (Cent)")
    journal_entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "Zuordnung"
        verbose_name_plural = "Zuordnungen"
        constraints: ClassVar = [
            models.CheckConstraint(condition=~Q(amount_cents=0), name="line_allocation_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} → {self.receivable_id}: {self.amount_cents}"


class ClearingHint(models.Model):
    """A receivable a line in the clearing queue names (ambiguous, paid already, ...).

    While the line waits, money for that receivable may be on the account: it is "under
    clearing" (`receivables.clearing`) and is not reminded.
    """

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="hints")
    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "Hinweis zur Klärung"
        verbose_name_plural = "Hinweise zur Klärung"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["line", "receivable"], name="clearing_hint_once"),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} → {self.receivable_id}"


class ActionKind(models.TextChoices):
    ASSIGNED = "assigned", "zugeordnet"
    HELD = "held", "im Verwahrgeld belassen"
    REFUND_MARKED = "refund_marked", "zur Rückzahlung vorgemerkt"
    COMMENTED = "commented", "kommentiert"
    UNDONE = "undone", "Zuordnung aufgehoben"
    REVIEWED = "reviewed", "geprüft"


class ClearingAction(AppendOnlyModel):
    """What the cash office did with a line, in order; written once, never changed.

    Assignments and their undoing carry the posting that moved the money (from Suspense to
    Receivables, or back); a mark for refund carries the account the money is to go to.
    """

    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="actions")
    kind = models.CharField("Aktion", max_length=20, choices=ActionKind.choices)
    comment = models.TextField("Kommentar", blank=True)
    status_after = models.CharField("Klärung danach", max_length=20, choices=ClearingStatus.choices)
    journal_entry = models.ForeignKey(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: For an undo: the assignment (or, for the import's own booking, nothing) it takes back.
    undoes = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )
    refund_iban = models.CharField("IBAN der Rückzahlung", max_length=34, blank=True)
    refund_name = models.CharField("Empfänger der Rückzahlung", max_length=140, blank=True)
    actor_label = models.CharField("von", max_length=200)
    created_at = models.DateTimeField("am")

    class Meta:
        verbose_name = "Klärungsschritt"
        verbose_name_plural = "Klärungsschritte"
        ordering = ("line", "id")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(kind__in=ActionKind.values), name="clearing_action_kind"
            ),
            models.CheckConstraint(
                condition=Q(status_after__in=ClearingStatus.values),
                name="clearing_action_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id}: {self.get_kind_display()}"
