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


# --- notices (Zahlungsaufforderung, Zahlungserinnerung) ----------------------------------------


class NoticeKind(models.TextChoices):
    NOTICE = "notice", "Zahlungsaufforderung"
    REMINDER = "reminder", "Zahlungserinnerung"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "E-Mail"
    PRINT = "print", "Brief (Druck)"


class NoticeTemplate(models.Model):
    """The subject and body of a kind of letter, for one service or for all of them.

    Texts hold placeholders (`receivables.placeholders`); saving refuses unknown ones. `version`
    counts the changes: each notice records the version it was written with.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("Art", max_length=20, choices=NoticeKind.choices)
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Leistung",
        help_text="Leer: gilt für alle Forderungen ohne eigene Vorlage ihrer Leistung.",
    )
    subject = models.CharField("Betreff", max_length=200)
    body = models.TextField("Text", help_text="Leerzeilen trennen Absätze.")
    version = models.PositiveIntegerField("Version", default=1, editable=False)
    updated_at = models.DateTimeField("geändert am", auto_now=True)

    class Meta:
        verbose_name = "Bescheidvorlage"
        verbose_name_plural = "Bescheidvorlagen"
        ordering = ("organisation", "kind", "service")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=Q(service__isnull=True),
                name="notice_template_one_default",
            ),
            models.UniqueConstraint(
                fields=["organisation", "kind", "service"],
                condition=Q(service__isnull=False),
                name="notice_template_one_per_service",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=NoticeKind.values), name="notice_template_kind"
            ),
        ]

    def __str__(self) -> str:
        scope = self.service.name if self.service else "alle Leistungen"
        return f"{self.get_kind_display()} ({scope})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError  # noqa: PLC0415

        from rathauskasse.receivables import placeholders  # noqa: PLC0415

        errors: dict[str, list[ValidationError]] = {}
        for name in ("subject", "body"):
            try:
                placeholders.check(getattr(self, name) or "")
            except ValidationError as exc:
                errors[name] = exc.error_list
        service = self.service if self.service_id else None
        if service is not None and service.organisation_id != self.organisation_id:
            errors["service"] = [
                ValidationError("Die Leistung gehört zu einer anderen Organisation.")
            ]
        if errors:
            raise ValidationError(errors)


class ReminderPolicy(models.Model):
    """When and how overdue receivables are reminded: for the organisation, or one department.

    A department's policy replaces the organisation's for that department's receivables.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Amt",
        help_text="Leer: gilt für die ganze Organisation, soweit ein Amt nichts Eigenes regelt.",
    )
    enabled = models.BooleanField("Erinnerungen verschicken", default=True)
    days_overdue = models.PositiveSmallIntegerField(
        "Tage nach Fälligkeit", default=14, help_text="So viele Tage nach dem Fälligkeitstag."
    )
    pay_within_days = models.PositiveSmallIntegerField(
        "Zahlungsfrist (Tage)", default=7, help_text="Neue Frist ab dem Datum der Erinnerung."
    )
    fee_cents = models.BigIntegerField("Mahngebühr (Cent)", default=0, help_text="0: keine Gebühr.")
    fee_budget_line = models.ForeignKey(
        BudgetLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Haushaltsstelle der Mahngebühr",
    )

    class Meta:
        verbose_name = "Erinnerungsregel"
        verbose_name_plural = "Erinnerungsregeln"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(department__isnull=True),
                name="reminder_policy_one_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["department"],
                condition=Q(department__isnull=False),
                name="reminder_policy_one_per_department",
            ),
            models.CheckConstraint(
                condition=Q(fee_cents__gte=0), name="reminder_policy_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(fee_cents=0) | Q(fee_budget_line__isnull=False),
                name="reminder_policy_fee_has_budget_line",
            ),
        ]

    def __str__(self) -> str:
        return f"Erinnerungen {self.department or self.organisation}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError  # noqa: PLC0415

        errors: dict[str, str] = {}
        if self.department is not None and self.department.organisation_id != self.organisation_id:
            errors["department"] = "Das Amt gehört zu einer anderen Organisation."
        if self.fee_cents and not self.fee_budget_line_id:
            errors["fee_budget_line"] = "Eine Mahngebühr braucht eine Haushaltsstelle."
        line = self.fee_budget_line
        if line is not None:
            if line.organisation_id != self.organisation_id:
                errors["fee_budget_line"] = (
                    "Die Haushaltsstelle gehört zu einer anderen Organisation."
                )
            elif not line.is_active:
                errors["fee_budget_line"] = "Die Haushaltsstelle ist nicht mehr aktiv."
        if errors:
            raise ValidationError(errors)


class Notice(models.Model):
    """One letter (or e-mail) asking to pay a receivable, as it was issued.

    `content` holds everything the letter shows, rendered at issue; the PDF is drawn from it
    again on every download and is the same file each time (`checksum`, SHA-256).
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    receivable = models.ForeignKey(Receivable, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField("Art", max_length=20, choices=NoticeKind.choices)
    sequence = models.PositiveSmallIntegerField("Nr.")
    amount_cents = models.BigIntegerField("gezeigter Betrag (Cent)")
    fee_cents = models.BigIntegerField("Mahngebühr (Cent)", default=0)
    due_date = models.DateField("zahlbar bis")
    issued_at = models.DateTimeField("erstellt am")
    issued_by = models.CharField("erstellt von", max_length=200)
    template = models.ForeignKey(
        NoticeTemplate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="Vorlage",
    )
    template_version = models.PositiveIntegerField(
        "Version der Vorlage", help_text="0: der eingebaute Text."
    )
    channel = models.CharField("Versand", max_length=10, choices=DeliveryChannel.choices)
    recipient_email = models.EmailField("an E-Mail", blank=True)
    delivered_at = models.DateTimeField(
        "versandt am",
        null=True,
        blank=True,
        help_text="E-Mail: gesendet; Brief: in eine Druckdatei aufgenommen.",
    )
    content = models.JSONField("Inhalt")
    checksum = models.CharField("SHA-256 des PDF", max_length=64)

    class Meta:
        verbose_name = "Bescheid"
        verbose_name_plural = "Bescheide"
        ordering = ("-id",)
        indexes: ClassVar = [
            models.Index(fields=["organisation", "issued_at"], name="notice_org_issued"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["receivable", "sequence"], name="notice_sequence"),
            # The daily run reminds a receivable once; the database holds it to that.
            models.UniqueConstraint(
                fields=["receivable"],
                condition=Q(kind=NoticeKind.REMINDER),
                name="notice_one_reminder",
            ),
            models.CheckConstraint(condition=Q(kind__in=NoticeKind.values), name="notice_kind"),
            models.CheckConstraint(
                condition=Q(channel__in=DeliveryChannel.values), name="notice_channel"
            ),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="notice_amount_positive"),
            models.CheckConstraint(condition=Q(fee_cents__gte=0), name="notice_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sequence} zu {self.receivable}"

    @property
    def filename(self) -> str:
        word = "Zahlungserinnerung" if self.kind == NoticeKind.REMINDER else "Zahlungsaufforderung"
        return f"{word}-{self.receivable.kassenzeichen}-{self.sequence}.pdf"


class ReminderRun(models.Model):
    """The daily reminder run of one day, so that a second run that day does nothing."""

    day = models.DateField("Tag", unique=True)
    started_at = models.DateTimeField("begonnen")
    reminded = models.PositiveIntegerField("erinnert", default=0)

    class Meta:
        verbose_name = "Erinnerungslauf"
        verbose_name_plural = "Erinnerungsläufe"
        ordering = ("-day",)

    def __str__(self) -> str:
        return f"{self.day:%d.%m.%Y}: {self.reminded}"
