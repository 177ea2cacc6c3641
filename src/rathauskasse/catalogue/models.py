"""Services (Leistungen) a citizen can apply for, with their form, fee rule and payment policy."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from rathauskasse.catalogue.fees import FeeKind, FeeRule
from rathauskasse.catalogue.formdefs import FormField, parse_definition
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.organisations.models import BudgetLine, Department, Organisation


class PaymentMethod(models.TextChoices):
    """What the payer picks; a provider offers some of them."""

    CARD = "card", _("Kredit- oder Debitkarte")
    PAYPAL = "paypal", _("PayPal")
    SEPA_DEBIT = "sepa_debit", _("SEPA-Lastschrift")
    WERO = "wero", _("Wero")
    GIROPAY = "giropay", _("giropay / paydirekt")
    BANK_TRANSFER = "bank_transfer", _("Überweisung")


class PaymentPolicy(models.TextChoices):
    NONE = "none", "keine Zahlung"
    BEFORE_SUBMIT = "before_submit", "vor dem Absenden bezahlen"
    AFTER_DECISION = "after_decision", "nach der Entscheidung bezahlen"


class Service(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="services"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="services")
    slug = models.SlugField("Kurzname (Adresse)", max_length=80)
    name = models.CharField("Name", max_length=200)
    description = models.TextField("Beschreibung")
    keywords = models.CharField(
        "Suchbegriffe", max_length=300, blank=True, help_text="Durch Kommas getrennt."
    )
    requirements = models.TextField("Was Sie brauchen", blank=True)
    processing_time = models.CharField("Bearbeitungsdauer", max_length=200, blank=True)
    leika_key = models.CharField(
        "LeiKa-Schlüssel", max_length=14, blank=True, help_text="Leistungsschlüssel (14 Ziffern)."
    )
    form_definition = models.JSONField("Formular", default=list, blank=True)

    fee_kind = models.CharField("Gebührenart", max_length=20, choices=FeeKind.choices)
    fee_amount_cents = models.BigIntegerField(
        "Betrag oder Preis je Einheit (Cent)", default=0, blank=True
    )
    fee_unit_label = models.CharField("Einheit", max_length=50, blank=True)
    fee_quantity_field = models.CharField("Mengenfeld", max_length=50, blank=True)
    fee_option_field = models.CharField("Auswahlfeld", max_length=50, blank=True)
    fee_option_amounts = models.JSONField("Beträge je Option (Cent)", default=dict, blank=True)
    fee_min_cents = models.BigIntegerField("Mindestgebühr (Cent)", null=True, blank=True)
    fee_max_cents = models.BigIntegerField("Höchstgebühr (Cent)", null=True, blank=True)
    budget_line = models.ForeignKey(
        BudgetLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="services",
        verbose_name="Haushaltsstelle",
    )
    payment_policy = models.CharField(
        "Bezahlung",
        max_length=20,
        choices=PaymentPolicy.choices,
        default=PaymentPolicy.BEFORE_SUBMIT,
    )
    payment_methods = models.JSONField(
        "erlaubte Zahlarten", default=list, blank=True, help_text='z. B. ["card", "paypal"]'
    )
    allows_overpayment = models.BooleanField(
        "Überzahlung erlaubt",
        default=False,
        help_text="Darf mehr als der offene Betrag gezahlt werden (z. B. Spenden)?",
    )
    is_active = models.BooleanField("online angeboten", default=True)

    class Meta:
        verbose_name = "Leistung"
        verbose_name_plural = "Leistungen"
        ordering = ("name",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "slug"], name="service_unique_slug"),
            models.CheckConstraint(
                condition=Q(fee_kind__in=FeeKind.values), name="service_fee_kind"
            ),
            models.CheckConstraint(
                condition=Q(payment_policy__in=PaymentPolicy.values), name="service_payment_policy"
            ),
            models.CheckConstraint(
                condition=Q(fee_amount_cents__gte=0), name="service_fee_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def fields(self) -> tuple[FormField, ...]:
        return parse_definition(self.form_definition)

    @property
    def fee_rule(self) -> FeeRule:
        return FeeRule(
            kind=FeeKind(self.fee_kind),
            amount_cents=self.fee_amount_cents or 0,
            unit_label=self.fee_unit_label,
            quantity_field=self.fee_quantity_field,
            option_field=self.fee_option_field,
            # Kept as stored: `FeeRule.check` refuses anything that is not whole cents.
            option_amounts={str(k): v for k, v in (self.fee_option_amounts or {}).items()},
            min_cents=self.fee_min_cents,
            max_cents=self.fee_max_cents,
        )

    @property
    def is_free(self) -> bool:
        return self.fee_kind == FeeKind.FREE

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        try:
            fields = self.fields
            self.fee_rule.check(fields)
        except ValidationFailed as exc:
            errors.update(exc.errors)
        if self.department_id and self.organisation_id:  # noqa: SIM102 - read fields only when set
            if self.department.organisation_id != self.organisation_id:
                errors["department"] = "Das Amt gehört nicht zu dieser Organisation."
        line = self.budget_line if self.budget_line_id else None
        if line is not None and line.organisation_id != self.organisation_id:
            errors["budget_line"] = "Die Haushaltsstelle gehört nicht zu dieser Organisation."
        charges = self.fee_kind != FeeKind.FREE and self.payment_policy != PaymentPolicy.NONE
        if charges and not self.budget_line_id:
            errors["budget_line"] = "Eine gebührenpflichtige Leistung braucht eine Haushaltsstelle."
        if charges and not self.payment_methods:
            errors["payment_methods"] = "Wählen Sie mindestens eine Zahlart."
        unknown = set(self.payment_methods or []) - set(PaymentMethod.values)
        if unknown:
            errors["payment_methods"] = "Unbekannte Zahlart: " + ", ".join(sorted(unknown))
        if self.fee_kind == FeeKind.FREE and self.payment_policy != PaymentPolicy.NONE:
            errors["payment_policy"] = "Eine gebührenfreie Leistung wird nicht bezahlt."
        if errors:
            raise ValidationError(errors)
