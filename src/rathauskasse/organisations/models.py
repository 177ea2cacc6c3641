"""Tenants and their structure: organisations, departments, budget lines, staff roles."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from rathauskasse.core import checkdigits
from rathauskasse.organisations.fields import CompactCodeField
from rathauskasse.organisations.validators import (
    validate_ags,
    validate_bic,
    validate_digits,
    validate_iban,
)


class GiroCodeReference(models.TextChoices):
    """What the GiroCode on a notice puts into the transfer's remittance field."""

    TEXT = "text", "Kassenzeichen als Verwendungszweck"
    RF = "rf", "RF-Gläubigerreferenz (ISO 11649) aus dem Kassenzeichen"


class Organisation(models.Model):
    """A municipality or other authority: creditor of every receivable it issues."""

    slug = models.SlugField("Kurzname", max_length=50, unique=True)
    name = models.CharField("Name", max_length=200)
    ags = models.CharField(
        "Amtlicher Gemeindeschlüssel", max_length=8, validators=[validate_ags], blank=True
    )
    creditor_name = models.CharField(
        "Zahlungsempfänger", max_length=70, help_text="So erscheint der Empfänger im GiroCode."
    )
    iban = CompactCodeField("IBAN", max_length=34, validators=[validate_iban])
    bic = CompactCodeField("BIC", max_length=11, blank=True, validators=[validate_bic])
    girocode_reference = models.CharField(
        "Referenz im GiroCode",
        max_length=10,
        choices=GiroCodeReference.choices,
        default=GiroCodeReference.TEXT,
        help_text="Das Kassenzeichen als Verwendungszweck, oder daraus eine RF-Referenz, die "
        "die Bank des Zahlenden schon bei der Eingabe prüft (wenn das Finanzverfahren sie "
        "beim Kontoauszug zuordnen kann).",
    )
    street = models.CharField("Straße und Hausnummer", max_length=200, blank=True)
    postcode = models.CharField("PLZ", max_length=10, blank=True)
    city = models.CharField("Ort", max_length=100, blank=True)
    email = models.EmailField("E-Mail", blank=True)
    phone = models.CharField("Telefon", max_length=50, blank=True)
    website = models.URLField("Website", blank=True)

    # The citizen portal: where it answers, how it looks, and its legal pages.
    portal_host = models.CharField(
        "Portal-Adresse",
        max_length=200,
        blank=True,
        help_text="Hostname, unter dem das Bürgerportal dieser Organisation erreichbar ist, "
        "z. B. zahlen.musterstadt.de. Leer: das Portal der Standard-Organisation.",
    )
    coat_of_arms = models.ImageField(
        "Wappen",
        upload_to="wappen/",
        blank=True,
        help_text="PNG, JPEG oder WebP, etwa quadratisch; ohne Bild zeigt das Portal ein neutrales "
        "Wappenschild.",
    )
    imprint = models.TextField("Impressum", blank=True)
    privacy_policy = models.TextField("Datenschutzerklärung", blank=True)
    accessibility_statement = models.TextField("Erklärung zur Barrierefreiheit", blank=True)

    # Kassenzeichen scheme: [prefix][year][running number][check digit], digits only.
    kz_prefix = models.CharField(
        "Kassenzeichen: feste Ziffern vorn",
        max_length=8,
        blank=True,
        validators=[validate_digits],
    )
    kz_year_digits = models.PositiveSmallIntegerField(
        "Kassenzeichen: Stellen der Jahreszahl",
        choices=[(0, "ohne Jahr"), (2, "zweistellig"), (4, "vierstellig")],
        default=2,
    )
    kz_number_digits = models.PositiveSmallIntegerField(
        "Kassenzeichen: Stellen der laufenden Nummer", default=6
    )
    kz_check_algorithm = models.CharField(
        "Kassenzeichen: Prüfziffernverfahren",
        max_length=20,
        choices=checkdigits.choices(),
        default=checkdigits.LUHN,
    )

    class Meta:
        verbose_name = "Organisation"
        verbose_name_plural = "Organisationen"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(kz_year_digits__in=[0, 2, 4]), name="organisation_kz_year_digits"
            ),
            models.CheckConstraint(
                condition=Q(kz_number_digits__gte=3, kz_number_digits__lte=12),
                name="organisation_kz_number_digits",
            ),
            models.CheckConstraint(
                condition=Q(girocode_reference__in=GiroCodeReference.values),
                name="organisation_girocode_reference",
            ),
            models.UniqueConstraint(
                fields=["portal_host"],
                condition=~Q(portal_host=""),
                name="organisation_unique_portal_host",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """An office of the organisation (Amt, Fachbereich); clerks belong to departments."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField("Name", max_length=200)
    code = models.CharField("Kürzel", max_length=20, blank=True)
    email = models.EmailField("E-Mail", blank=True)
    phone = models.CharField("Telefon", max_length=50, blank=True)

    class Meta:
        verbose_name = "Amt"
        verbose_name_plural = "Ämter"
        ordering = ("name",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "name"], name="department_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class BudgetLine(models.Model):
    """Where revenue is booked in the finance system (Produkt, Sachkonto, Kostenstelle, ...)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="budget_lines"
    )
    code = models.CharField(
        "Haushaltsstelle", max_length=50, help_text="Der Schlüssel, unter dem gebucht wird."
    )
    name = models.CharField("Bezeichnung", max_length=200)
    product = models.CharField("Produkt", max_length=30, blank=True)
    account = models.CharField("Sachkonto", max_length=30, blank=True)
    cost_centre = models.CharField("Kostenstelle", max_length=30, blank=True)
    booking_data = models.JSONField(
        "weitere Buchungsdaten",
        default=dict,
        blank=True,
        help_text="Freie Schlüssel und Werte für das Finanzverfahren (z. B. Kostenträger).",
    )
    is_active = models.BooleanField("aktiv", default=True)

    class Meta:
        verbose_name = "Haushaltsstelle"
        verbose_name_plural = "Haushaltsstellen"
        ordering = ("code",)
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "code"], name="budget_line_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Role(models.TextChoices):
    CLERK = "clerk", "Sachbearbeitung"
    DEPARTMENT_HEAD = "department_head", "Amtsleitung"
    CASH_OFFICE = "cash_office", "Stadtkasse"
    ADMINISTRATOR = "administrator", "Administration"


#: Roles that belong to one department; the others span the whole organisation.
DEPARTMENT_ROLES = (Role.CLERK, Role.DEPARTMENT_HEAD)


class Membership(models.Model):
    """A user's role in an organisation, for department roles in one department."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField("Rolle", max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = "Rolle"
        verbose_name_plural = "Rollen"
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
            models.CheckConstraint(
                condition=(
                    Q(role__in=DEPARTMENT_ROLES, department__isnull=False)
                    | (~Q(role__in=DEPARTMENT_ROLES) & Q(department__isnull=True))
                ),
                name="membership_department_matches_role",
            ),
            models.UniqueConstraint(
                fields=["user", "department", "role"],
                condition=Q(department__isnull=False),
                name="membership_unique_in_department",
            ),
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                condition=Q(department__isnull=True),
                name="membership_unique_in_organisation",
            ),
        ]

    def __str__(self) -> str:
        where = self.department or self.organisation
        return f"{self.user} – {self.get_role_display()} ({where})"
