"""Open items from the finance system: how its CSV files read (profiles) and what each brought;
and the exports to it: profiles, their versions, batches, and which lines went out.

A profile says how one source writes its files (separator, encoding, decimal comma, date format)
and which of its columns holds which of our fields. An import records one accepted file, with the
profile's settings as they were used, and the receivables the file created. An export profile
says which movements of the receivables go out and how the file looks (`finance.exports`); each
batch keeps its file and points to the version of the profile it was written with.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, NamedTuple

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rathauskasse.core.models import AppendOnlyModel
from rathauskasse.finance import exports
from rathauskasse.organisations.models import BudgetLine, Department, Organisation


class Encoding(models.TextChoices):
    UTF8 = "utf-8", "UTF-8 (mit oder ohne BOM)"
    WINDOWS_1252 = "cp1252", "Windows-1252 (ANSI, westeuropäisch)"


class Delimiter(models.TextChoices):
    SEMICOLON = ";", "Semikolon ( ; )"
    COMMA = ",", "Komma ( , )"
    TAB = "\t", "Tabulator"
    PIPE = "|", "senkrechter Strich ( | )"


class QuoteChar(models.TextChoices):
    DOUBLE = '"', 'doppeltes Anführungszeichen ( " )'
    SINGLE = "'", "Apostroph ( ' )"


class DecimalSeparator(models.TextChoices):
    COMMA = ",", "Komma (12,50)"
    POINT = ".", "Punkt (12.50)"


class ThousandsSeparator(models.TextChoices):
    NONE = "", "keines (1234,56)"
    POINT = ".", "Punkt (1.234,56)"
    COMMA = ",", "Komma (1,234.56)"
    SPACE = " ", "Leerzeichen (1 234,56)"
    APOSTROPHE = "'", "Apostroph (1'234.56)"


class DateFormat(models.TextChoices):
    DAY_MONTH_YEAR = "%d.%m.%Y", "TT.MM.JJJJ (31.12.2026)"
    DAY_MONTH_SHORT_YEAR = "%d.%m.%y", "TT.MM.JJ (31.12.26)"
    ISO = "%Y-%m-%d", "JJJJ-MM-TT (2026-12-31)"
    COMPACT = "%Y%m%d", "JJJJMMTT (20261231)"
    SLASHES = "%d/%m/%Y", "TT/MM/JJJJ (31/12/2026)"


class Column(NamedTuple):
    """One of our fields that a profile can map to a column of the file."""

    field: str
    label: str
    required: bool = False


#: Our fields in the order the profile lists them; the model field is `column_<field>`.
COLUMNS: tuple[Column, ...] = (
    Column("kassenzeichen", "Kassenzeichen", required=True),
    Column("amount", "Betrag", required=True),
    Column("debtor_name", "Name", required=True),
    Column("debtor_street", "Straße und Hausnummer"),
    Column("debtor_postcode", "PLZ"),
    Column("debtor_city", "Ort"),
    Column("debtor_country", "Land"),
    Column("debtor_email", "E-Mail"),
    Column("debtor_account", "Personenkonto"),
    Column("due_date", "fällig am"),
    Column("purpose", "Zweck"),
    Column("budget_line", "Haushaltsstelle"),
    Column("department", "Amt"),
    Column("reference", "Referenz"),
)
MAX_COLUMN_NUMBER = 500
_COLUMN_HELP = (
    "Name der Spalte in der Kopfzeile (Groß- und Kleinschreibung egal) – oder ihre Nummer "
    "(1 = erste Spalte), wenn die Datei keine Kopfzeile hat."
)


def _column_field(column: Column) -> models.CharField[str, str]:
    return models.CharField(
        f"Spalte {column.label}",
        max_length=100,
        blank=not column.required,
        help_text=_COLUMN_HELP if column.field == "kassenzeichen" else "",
    )


class OpenItemProfile(models.Model):
    """How the CSV files of one source (a finance system's export) read."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="Organisation"
    )
    name = models.SlugField(
        "Kurzname",
        max_length=50,
        help_text="Eindeutig je Organisation; so heißt das Profil beim Aufruf "
        "„manage.py import_open_items DATEI --profile KURZNAME“.",
    )
    description = models.CharField("Beschreibung", max_length=200, blank=True)

    encoding = models.CharField(
        "Zeichenkodierung", max_length=10, choices=Encoding.choices, default=Encoding.UTF8
    )
    delimiter = models.CharField(
        "Trennzeichen", max_length=1, choices=Delimiter.choices, default=Delimiter.SEMICOLON
    )
    quote_char = models.CharField(
        "Textbegrenzer", max_length=1, choices=QuoteChar.choices, default=QuoteChar.DOUBLE
    )
    has_header = models.BooleanField(
        "erste Zeile ist Kopfzeile",
        default=True,
        help_text="Die erste Zeile nennt die Spalten; die Spalten unten werden dann mit Namen "
        "angegeben, sonst mit Nummern.",
    )
    decimal_separator = models.CharField(
        "Dezimaltrennzeichen",
        max_length=1,
        choices=DecimalSeparator.choices,
        default=DecimalSeparator.COMMA,
    )
    thousands_separator = models.CharField(
        "Tausendertrennzeichen",
        max_length=1,
        choices=ThousandsSeparator.choices,
        default=ThousandsSeparator.NONE,
        blank=True,
        help_text="Beträge dürfen es enthalten, müssen aber nicht.",
    )
    date_format = models.CharField(
        "Datumsformat", max_length=10, choices=DateFormat.choices, default=DateFormat.DAY_MONTH_YEAR
    )

    column_kassenzeichen = _column_field(COLUMNS[0])
    column_amount = _column_field(COLUMNS[1])
    column_debtor_name = _column_field(COLUMNS[2])
    column_debtor_street = _column_field(COLUMNS[3])
    column_debtor_postcode = _column_field(COLUMNS[4])
    column_debtor_city = _column_field(COLUMNS[5])
    column_debtor_country = _column_field(COLUMNS[6])
    column_debtor_email = _column_field(COLUMNS[7])
    column_debtor_account = _column_field(COLUMNS[8])
    column_due_date = _column_field(COLUMNS[9])
    column_purpose = _column_field(COLUMNS[10])
    column_budget_line = _column_field(COLUMNS[11])
    column_department = _column_field(COLUMNS[12])
    column_reference = _column_field(COLUMNS[13])

    default_budget_line = models.ForeignKey(
        BudgetLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Haushaltsstelle, wenn die Datei keine nennt",
    )
    default_department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Amt, wenn die Datei keines nennt",
    )
    default_purpose = models.CharField(
        "Zweck, wenn die Datei keinen nennt", max_length=140, blank=True
    )
    payment_days = models.PositiveSmallIntegerField(
        "Zahlungsziel in Tagen",
        default=14,
        help_text="Fällig so viele Tage nach dem Import, wenn die Datei kein Fälligkeitsdatum "
        "nennt.",
    )

    created_at = models.DateTimeField("angelegt am", auto_now_add=True)
    updated_at = models.DateTimeField("geändert am", auto_now=True)

    class Meta:
        verbose_name = "Profil für offene Posten"
        verbose_name_plural = "Profile für offene Posten"
        ordering = ("organisation", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="open_item_profile_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(encoding__in=Encoding.values), name="open_item_profile_encoding"
            ),
            models.CheckConstraint(
                condition=Q(date_format__in=DateFormat.values),
                name="open_item_profile_date_format",
            ),
            models.CheckConstraint(
                condition=~Q(decimal_separator=models.F("thousands_separator")),
                name="open_item_profile_separators_differ",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def column(self, field: str) -> str:
        value: str = getattr(self, f"column_{field}")
        return value.strip()

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}

        def refuse(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        for column in COLUMNS:
            if column.required and not self.column(column.field):
                refuse(
                    f"column_{column.field}",
                    f"Ohne die Spalte „{column.label}“ lässt sich kein offener Posten anlegen.",
                )
        seen: dict[str, Column] = {}
        for column in COLUMNS:
            value = self.column(column.field)
            if not value:
                continue
            if not self.has_header and not _is_column_number(value):
                refuse(
                    f"column_{column.field}",
                    f"Ohne Kopfzeile wird jede Spalte mit ihrer Nummer angegeben "
                    f"(1 bis {MAX_COLUMN_NUMBER}), nicht „{value}“.",
                )
                continue
            key = str(int(value)) if not self.has_header else value.casefold()
            if key in seen:
                refuse(
                    f"column_{column.field}",
                    f"Diese Spalte ist schon für „{seen[key].label}“ angegeben.",
                )
            seen.setdefault(key, column)
        if not self.column("budget_line") and self.default_budget_line_id is None:
            refuse(
                "default_budget_line",
                "Geben Sie die Spalte mit der Haushaltsstelle an oder wählen Sie hier eine.",
            )
        if not self.column("department") and self.default_department_id is None:
            refuse(
                "default_department",
                "Geben Sie die Spalte mit dem Amt an oder wählen Sie hier eins.",
            )
        if not self.column("purpose") and not self.default_purpose.strip():
            refuse(
                "default_purpose", "Geben Sie die Spalte mit dem Zweck an oder nennen Sie ihn hier."
            )
        if self.decimal_separator == self.thousands_separator:
            refuse(
                "thousands_separator",
                "Tausender- und Dezimaltrennzeichen müssen verschieden sein.",
            )
        if self.delimiter == self.quote_char:
            refuse("quote_char", "Textbegrenzer und Trennzeichen müssen verschieden sein.")
        line = self.default_budget_line
        if line is not None and line.organisation_id != self.organisation_id:
            refuse(
                "default_budget_line", "Diese Haushaltsstelle gehört zu einer anderen Organisation."
            )
        elif line is not None and not line.is_active:
            refuse("default_budget_line", "Diese Haushaltsstelle ist nicht mehr aktiv.")
        department = self.default_department
        if department is not None and department.organisation_id != self.organisation_id:
            refuse("default_department", "Dieses Amt gehört zu einer anderen Organisation.")
        if errors:
            raise ValidationError(errors)

    def snapshot(self) -> dict[str, Any]:
        """Everything an import reads from the profile, as plain data (kept with each import)."""
        return {
            "name": self.name,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "quote_char": self.quote_char,
            "has_header": self.has_header,
            "decimal_separator": self.decimal_separator,
            "thousands_separator": self.thousands_separator,
            "date_format": self.date_format,
            "columns": {c.field: self.column(c.field) for c in COLUMNS if self.column(c.field)},
            "default_budget_line": self.default_budget_line.code
            if self.default_budget_line
            else None,
            "default_department": self.default_department.name if self.default_department else None,
            "default_purpose": self.default_purpose.strip(),
            "payment_days": self.payment_days,
        }


def _is_column_number(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{1,3}", value)) and 1 <= int(value) <= MAX_COLUMN_NUMBER


class OpenItemImport(AppendOnlyModel):
    """One accepted file: what it was, with which settings it was read, what it created.

    Unique per organisation and SHA-256 of the file's bytes: the same file again (under any
    name) creates nothing. Rejected files leave no record; their report is shown at once.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="Organisation"
    )
    profile = models.ForeignKey(
        OpenItemProfile,
        on_delete=models.PROTECT,
        related_name="imports",
        verbose_name="Profil",
    )
    profile_settings = models.JSONField(
        "Einstellungen des Profils beim Import",
        help_text="Wie das Profil beim Import lautete; spätere Änderungen am Profil ändern "
        "diesen Import nicht.",
    )
    filename = models.CharField("Dateiname", max_length=255)
    sha256 = models.CharField("SHA-256 der Datei", max_length=64)
    size_bytes = models.PositiveBigIntegerField("Größe (Byte)")
    row_count = models.PositiveIntegerField("Forderungen")
    total_cents = models.BigIntegerField("Summe (Cent)")
    receivable_ids = models.JSONField(
        "Nummern der Forderungen",
        help_text="Die angelegten Forderungen als Bereiche ihrer Nummern [erste, letzte]; sie "
        "sind nach Postleitzahl angelegt, ihre Nummern folgen der Reihenfolge des Sammeldrucks.",
    )
    actor_label = models.CharField("importiert von", max_length=200)
    created_at = models.DateTimeField("importiert am")

    class Meta:
        verbose_name = "Import offener Posten"
        verbose_name_plural = "Importe offener Posten"
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "sha256"], name="open_item_import_once_per_file"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({timezone.localtime(self.created_at):%d.%m.%Y %H:%M})"

    def receivable_id_list(self) -> list[int]:
        """The ids of the receivables it created, in postal-code order (ascending)."""
        return [pk for first, last in self.receivable_ids for pk in range(first, last + 1)]


# --- exports to the finance system -----------------------------------------------------------


def _choices(options: dict[str, str]) -> list[tuple[str, str]]:
    return list(options.items())


class ExportTrigger(models.TextChoices):
    SCHEDULE = "schedule", "täglicher Lauf"
    ADMIN = "admin", "in der Verwaltung"
    COMMAND = "command", "manage.py export_bookings"


class ExportProfile(models.Model):
    """How the records of one export to the finance system are chosen and written.

    Editable; every change that alters the file makes a new `ExportProfileVersion`, and each
    batch points to the version it was written with, so a change never alters an export made.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="Organisation"
    )
    name = models.SlugField(
        "Kurzname",
        max_length=50,
        help_text="Eindeutig je Organisation; so heißt das Profil beim Aufruf "
        "„manage.py export_bookings --profile KURZNAME“.",
    )
    description = models.CharField("Beschreibung", max_length=200, blank=True)
    is_active = models.BooleanField("aktiv", default=True)

    record_kinds = models.JSONField(
        "Satzarten",
        default=list,
        help_text="Welche Bewegungen der Forderungen ausgegeben werden.",
    )
    file_format = models.CharField(
        "Dateiart", max_length=10, choices=_choices(exports.FILE_FORMATS), default="separated"
    )
    delimiter = models.CharField(
        "Trennzeichen", max_length=1, choices=Delimiter.choices, default=Delimiter.SEMICOLON
    )
    quote_char = models.CharField(
        "Textbegrenzer", max_length=1, choices=QuoteChar.choices, default=QuoteChar.DOUBLE
    )
    quoting = models.CharField(
        "Textbegrenzer setzen", max_length=10, choices=_choices(exports.QUOTING), default="minimal"
    )
    include_header = models.BooleanField("Kopfzeile schreiben", default=True)
    encoding = models.CharField(
        "Zeichenkodierung", max_length=15, choices=_choices(exports.ENCODINGS), default="utf-8"
    )
    line_ending = models.CharField(
        "Zeilenende", max_length=2, choices=_choices(exports.LINE_ENDINGS), default="\r\n"
    )
    decimal_separator = models.CharField(
        "Dezimaltrennzeichen",
        max_length=1,
        choices=DecimalSeparator.choices,
        default=DecimalSeparator.COMMA,
    )
    amount_format = models.CharField(
        "Betragsformat", max_length=10, choices=_choices(exports.AMOUNT_FORMATS), default="decimal"
    )
    sign = models.CharField(
        "Vorzeichen", max_length=20, choices=_choices(exports.SIGNS), default="debit_positive"
    )
    date_format = models.CharField(
        "Datumsformat",
        max_length=10,
        choices=[(f, f"{f} ({dt.date(2026, 12, 31):{f}})") for f in exports.DATE_FORMATS],
        default="%d.%m.%Y",
    )
    filename_pattern = models.CharField(
        "Dateiname",
        max_length=120,
        default="{profile}-{number}.csv",
        help_text="Platzhalter: {profile} Kurzname, {number} laufende Nummer des Exports, "
        "{until:%Y%m%d} Stichtag, {created:%Y%m%d%H%M} Zeitpunkt des Exports.",
    )
    columns = models.JSONField(
        "Spalten",
        default=list,
        help_text="Die Spalten in ihrer Reihenfolge, je ein Objekt: source (Quelle), header "
        "(Name), max_length (kürzen auf), width (Breite bei fester Satzlänge), align "
        "(left/right), pad (Füllzeichen), upper (Großbuchstaben ohne Umlaute), value (fester "
        "Wert).",
    )
    daily_at = models.TimeField(
        "täglich exportieren um",
        null=True,
        blank=True,
        help_text="Uhrzeit (Europe/Berlin) des täglichen Exports; leer: nur auf Anforderung.",
    )
    next_run_at = models.DateTimeField("nächster täglicher Export", null=True, editable=False)
    version = models.PositiveIntegerField("Version", default=0, editable=False)
    created_at = models.DateTimeField("angelegt am", auto_now_add=True)
    updated_at = models.DateTimeField("geändert am", auto_now=True)

    class Meta:
        verbose_name = "Exportprofil"
        verbose_name_plural = "Exportprofile"
        ordering = ("organisation", "name")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="export_profile_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def spec(self) -> exports.Spec:
        return exports.Spec.of(self.settings())

    def settings(self) -> dict[str, Any]:
        """Everything the file depends on, as plain data (what a version keeps)."""
        return {
            "name": self.name,
            "record_kinds": list(self.record_kinds or []),
            "columns": [
                exports.ColumnSpec.of(c).as_dict() if isinstance(c, dict) else c
                for c in (self.columns or [])
            ],
            **{name: getattr(self, name) for name in _SPEC_FIELDS},
        }

    def clean(self) -> None:
        if not isinstance(self.record_kinds, list) or not all(
            isinstance(kind, str) for kind in self.record_kinds
        ):
            raise ValidationError({"record_kinds": "Eine Liste von Satzarten."})
        if not isinstance(self.columns, list) or not all(isinstance(c, dict) for c in self.columns):
            raise ValidationError({"columns": "Eine Liste von Spalten (je ein Objekt)."})
        try:
            spec = self.spec()
        except TypeError as exc:
            raise ValidationError({"columns": f"Unbekannte Angabe in einer Spalte: {exc}"}) from exc
        errors = exports.check(spec)
        if errors:
            fields = {f.name for f in self._meta.fields}
            raise ValidationError(
                {
                    (name if name in fields else "columns"): messages
                    for name, messages in errors.items()
                }
            )


_SPEC_FIELDS = (
    "file_format",
    "delimiter",
    "quote_char",
    "quoting",
    "include_header",
    "encoding",
    "line_ending",
    "decimal_separator",
    "amount_format",
    "sign",
    "date_format",
    "filename_pattern",
)


class ExportProfileVersion(AppendOnlyModel):
    """A profile's settings as they were from one change to the next; never changed."""

    profile = models.ForeignKey(
        ExportProfile, on_delete=models.PROTECT, related_name="versions", verbose_name="Profil"
    )
    number = models.PositiveIntegerField("Version")
    settings = models.JSONField("Einstellungen")
    created_at = models.DateTimeField("angelegt am")
    actor_label = models.CharField("geändert von", max_length=200)

    class Meta:
        verbose_name = "Version eines Exportprofils"
        verbose_name_plural = "Versionen der Exportprofile"
        ordering = ("profile", "-number")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["profile", "number"], name="export_profile_version"),
        ]

    def __str__(self) -> str:
        return f"{self.profile} v{self.number}"

    def spec(self) -> exports.Spec:
        return exports.Spec.of(self.settings)


def export_file_path(batch: ExportBatch, filename: str) -> str:
    return f"exports/{batch.organisation_id}/{batch.profile_id}/{batch.number:06d}-{filename}"


class ExportBatch(AppendOnlyModel):
    """One export: its stored file (downloaded again byte for byte), what it holds, its sums.

    Never changed: a correction is a later batch with the reversal records.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name="Organisation"
    )
    profile = models.ForeignKey(
        ExportProfile, on_delete=models.PROTECT, related_name="batches", verbose_name="Profil"
    )
    version = models.ForeignKey(
        ExportProfileVersion,
        on_delete=models.PROTECT,
        related_name="batches",
        verbose_name="Version des Profils",
    )
    number = models.PositiveIntegerField("Nr.")
    trigger = models.CharField("ausgelöst", max_length=10, choices=ExportTrigger.choices)
    until = models.DateField("Buchungen bis")
    period_from = models.DateField("erste Buchung vom")
    period_until = models.DateField("letzte Buchung vom")
    record_count = models.PositiveIntegerField("Sätze")
    debit_cents = models.BigIntegerField("Soll (Cent)")
    credit_cents = models.BigIntegerField("Haben (Cent, negativ)")
    net_cents = models.BigIntegerField("Saldo (Cent, Soll positiv)")
    counts_by_kind = models.JSONField("Sätze je Satzart")
    first_line_id = models.BigIntegerField("erste Buchungszeile")
    last_line_id = models.BigIntegerField("letzte Buchungszeile")
    filename = models.CharField("Dateiname", max_length=255)
    file = models.FileField("Datei", upload_to=export_file_path, max_length=400)
    size_bytes = models.PositiveBigIntegerField("Größe (Byte)")
    sha256 = models.CharField("SHA-256 der Datei", max_length=64)
    actor_label = models.CharField("exportiert von", max_length=200)
    created_at = models.DateTimeField("exportiert am")

    class Meta:
        verbose_name = "Export an das Finanzverfahren"
        verbose_name_plural = "Exporte an das Finanzverfahren"
        ordering = ("-created_at", "-id")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["profile", "number"], name="export_batch_number"),
            models.CheckConstraint(
                condition=Q(trigger__in=ExportTrigger.values), name="export_batch_trigger"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile} Nr. {self.number}"


class ExportedLine(models.Model):
    """That a journal line went out with a profile: once per profile, ever (the primary key).

    Plain ids, no foreign keys: a batch writes up to millions of these in one statement, and
    a foreign key would check each row; lines and batches are never deleted.
    """

    pk = models.CompositePrimaryKey("profile_id", "line_id")
    profile_id = models.BigIntegerField()
    line_id = models.BigIntegerField()
    batch_id = models.BigIntegerField()

    class Meta:
        verbose_name = "exportierte Buchungszeile"
        verbose_name_plural = "exportierte Buchungszeilen"

    def __str__(self) -> str:
        return f"{self.profile_id}:{self.line_id}"
