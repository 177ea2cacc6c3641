"""Export profiles to start from: the settings of the four shipped presets.

`generic-csv` holds every field; `infoma-zahlungseingaenge` is the payments-received file of the
kind Infoma newsystem and H&H proDoppik import (Windows-1252, semicolons, decimal comma, booking
text of at most 27 upper-case characters); `sap-flat` a fixed-width flat file as SAP's batch
input reads it; `jsonl` one JSON object per record for programs.
"""

from __future__ import annotations

from typing import Any

ALL_KINDS = ["payment", "refund", "reversal", "receivable_created", "receivable_cancelled"]
PAYMENT_KINDS = ["payment", "refund", "reversal"]


def _c(source: str, header: str = "", **options: Any) -> dict[str, Any]:
    return {"source": source, "header": header, **options}


PRESETS: dict[str, dict[str, Any]] = {
    "generic-csv": {
        "description": "Alle Bewegungen der Forderungen mit allen Feldern (CSV, UTF-8)",
        "record_kinds": ALL_KINDS,
        "file_format": "separated",
        "delimiter": ";",
        "quoting": "minimal",
        "include_header": True,
        "encoding": "utf-8",
        "line_ending": "\r\n",
        "decimal_separator": ",",
        "amount_format": "decimal",
        "sign": "debit_positive",
        "date_format": "%d.%m.%Y",
        "filename_pattern": "buchungen-{number}-{until:%Y%m%d}.csv",
        "columns": [
            _c("line_id", "Zeile"),
            _c("entry_id", "Buchung"),
            _c("record_kind", "Satzart"),
            _c("booking_date", "Buchungsdatum"),
            _c("kassenzeichen", "Kassenzeichen"),
            _c("amount", "Betrag"),
            _c("debit_credit", "SH"),
            _c("currency", "Währung"),
            _c("budget_line", "Haushaltsstelle"),
            _c("product", "Produkt"),
            _c("gl_account", "Sachkonto"),
            _c("cost_centre", "Kostenstelle"),
            _c("debtor_account", "Personenkonto"),
            _c("debtor_name", "Name"),
            _c("payment_method", "Zahlart"),
            _c("provider", "Zahlungsdienst"),
            _c("booking_text", "Buchungstext"),
            _c("reference", "Bezug"),
        ],
    },
    "infoma-zahlungseingaenge": {
        "description": "Zahlungseingänge für Infoma newsystem / H&H proDoppik (CSV, ANSI)",
        "record_kinds": PAYMENT_KINDS,
        "file_format": "separated",
        "delimiter": ";",
        "quoting": "minimal",
        "include_header": True,
        "encoding": "cp1252",
        "line_ending": "\r\n",
        "decimal_separator": ",",
        "amount_format": "decimal",
        # A payment received is positive, a refund or returned debit negative.
        "sign": "credit_positive",
        "date_format": "%d.%m.%Y",
        "filename_pattern": "ZE_{until:%Y%m%d}_{number}.csv",
        "columns": [
            _c("kassenzeichen", "Kassenzeichen"),
            _c("amount", "Betrag"),
            _c("booking_date", "Buchungsdatum"),
            _c("value_date", "Valuta"),
            _c("payment_method", "Zahlweg"),
            _c("product", "Produkt"),
            _c("gl_account", "Sachkonto"),
            _c("cost_centre", "Kostenstelle"),
            _c("budget_line", "Haushaltsstelle"),
            _c("debtor_account", "Personenkonto"),
            _c("booking_text", "Buchungstext", max_length=27, upper=True),
        ],
    },
    "sap-flat": {
        "description": "Flache Datei mit fester Satzlänge im Stil der SAP-Stapelverarbeitung",
        "record_kinds": ALL_KINDS,
        "file_format": "fixed",
        "include_header": False,
        "encoding": "iso-8859-15",
        "line_ending": "\r\n",
        "decimal_separator": ".",
        "amount_format": "decimal",
        "sign": "unsigned",
        "date_format": "%Y%m%d",
        "filename_pattern": "RK{until:%Y%m%d}{number}.txt",
        "columns": [
            _c("constant", "Satzart", value="1", width=1),
            _c("booking_date", "Buchungsdatum", width=8),
            _c("kassenzeichen", "Zuordnung", width=35),
            _c("debit_credit", "Soll/Haben", width=1),
            _c("amount", "Betrag", width=15, align="right", pad="0"),
            _c("currency", "Währung", width=3),
            _c("gl_account", "Sachkonto", width=10, max_length=10),
            _c("cost_centre", "Kostenstelle", width=10, max_length=10),
            _c("product", "Innenauftrag", width=12, max_length=12),
            _c("debtor_account", "Debitor", width=10, max_length=10),
            _c("booking_text", "Text", width=50, max_length=50),
        ],
    },
    "jsonl": {
        "description": "Eine JSON-Zeile je Bewegung, für Programme (Beträge in Cent)",
        "record_kinds": ALL_KINDS,
        "file_format": "jsonl",
        "encoding": "utf-8",
        "line_ending": "\n",
        "amount_format": "cents",
        "sign": "debit_positive",
        "date_format": "%Y-%m-%d",
        "filename_pattern": "buchungen-{number}.jsonl",
        "columns": [
            _c("line_id", "line_id"),
            _c("entry_id", "entry_id"),
            _c("record_kind", "kind"),
            _c("booking_date", "booking_date"),
            _c("kassenzeichen", "kassenzeichen"),
            _c("amount", "amount_cents"),
            _c("currency", "currency"),
            _c("budget_line", "budget_line"),
            _c("product", "product"),
            _c("gl_account", "account"),
            _c("cost_centre", "cost_centre"),
            _c("debtor_account", "debtor_account"),
            _c("payment_method", "payment_method"),
            _c("provider", "provider"),
            _c("booking_text", "text"),
            _c("reference", "reference"),
        ],
    },
}


def fields(name: str) -> dict[str, Any]:
    """The model fields of preset `name` (a fresh copy, to pass to `create_export_profile`)."""
    preset = PRESETS[name]
    return {
        "name": name,
        **{
            key: (list(value) if isinstance(value, list) else value)
            for key, value in preset.items()
        },
        "columns": [dict(column) for column in preset["columns"]],
    }
