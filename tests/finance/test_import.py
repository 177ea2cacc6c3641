"""Importing the finance system's open items: all or nothing, once per file, row by row reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from rathauskasse.core import clock
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.finance import openitems, selectors, services
from rathauskasse.finance.models import OpenItemImport, OpenItemProfile
from rathauskasse.finance.services import ImportResult, Outcome
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import Receivable, ReceivableSource
from tests import factories
from tests.finance.conftest import HEADER, counts, csv_bytes, kz, row

pytestmark = pytest.mark.django_db
Run = Callable[..., ImportResult]


def _errors(result: ImportResult) -> list[tuple[int | None, str, str]]:
    return [(e.row, e.column, e.message) for e in result.errors]


def _rejected_with(
    result: ImportResult, row_number: int | None, column: str, fragment: str
) -> None:
    assert result.outcome == Outcome.REJECTED
    assert result.record is None
    assert any(
        e.row == row_number and e.column == column and fragment in e.message for e in result.errors
    ), _errors(result)


# --- accepted files -----------------------------------------------------------------------------


def test_a_file_creates_its_receivables_posted_and_audited(
    org: Organisation, department: Department, budget_line: BudgetLine, run: Run
) -> None:
    other_line = factories.budget_line(org, "611010.401300")
    data = csv_bytes(
        [
            row(org, 1, Betrag="1.234,56", HHSt="611010.401300"),
            row(org, 2, Name="Käthe Schäfer", Fällig="", Text="Grabpflege 2027"),
        ]
    )
    with clock.frozen(dt.datetime(2026, 12, 1, 10, 0, tzinfo=clock.BERLIN)):
        result = run(data, filename="offene_posten.csv")

    assert result.outcome == Outcome.CREATED
    assert services.describe(result) == "2 Forderungen angelegt (Summe 1.247,06 €)."
    first, second = Receivable.objects.filter(pk__in=result.receivable_ids).order_by("pk")
    scheme = Scheme.of(org)
    assert first.kassenzeichen == scheme.validate(kz(org, 1))  # compact, as every receivable
    assert (first.amount_cents, first.source, first.debtor_name) == (
        123456,
        ReceivableSource.IMPORT,
        "Jürgen Müller",
    )
    assert (first.debtor_postcode, first.debtor_city, first.due_date) == (
        "52349",
        "Musterstadt",
        dt.date(2027, 1, 15),
    )
    assert first.department == department
    assert [(line.budget_line, line.amount_cents) for line in first.lines.all()] == [
        (other_line, 123456)
    ]
    assert second.lines.get().budget_line == budget_line  # the profile's default
    assert second.due_date == dt.date(2026, 12, 15)  # no date: 14 days after the import
    assert second.purpose == "Grabpflege 2027"
    balances = ledger_selectors.open_item_balances(
        organisation_id=org.pk, open_item_ids=[first.pk, second.pk]
    )
    assert balances == {first.pk: 123456, second.pk: 1250}
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok

    record = result.record
    assert record is not None
    assert (record.filename, record.row_count, record.total_cents) == (
        "offene_posten.csv",
        2,
        124706,
    )
    assert record.receivable_ids == [[first.pk, second.pk]]
    assert record.profile_settings["columns"]["amount"] == "Betrag"
    assert record.profile_settings["default_budget_line"] == budget_line.code
    audit = AuditEntry.objects.get(action="open_item_import.created")
    assert audit.after["receivable_ids"] == [[first.pk, second.pk]]
    assert audit.after["sha256"] == record.sha256
    bulk = AuditEntry.objects.get(action="receivable.created_in_bulk")
    assert bulk.after["count"] == 2


def test_receivables_come_in_postal_code_order_for_the_print_run(
    org: Organisation, run: Run
) -> None:
    data = csv_bytes(
        [
            row(org, 1, PLZ="52349", Name="A"),
            row(org, 2, PLZ="", Name="B"),
            row(org, 3, PLZ="1067", Name="C"),  # a spreadsheet dropped the leading zero
            row(org, 4, PLZ="10115", Name="D"),
            row(org, 5, PLZ="52349", Name="E"),
        ]
    )
    result = run(data)
    names = [Receivable.objects.get(pk=pk).debtor_name for pk in result.receivable_ids]
    assert names == ["C", "D", "A", "E", "B"]
    assert list(result.receivable_ids) == sorted(result.receivable_ids)
    assert result.record is not None
    listed = selectors.imported_receivables(record=result.record)
    assert [r.debtor_name for r in listed] == names
    assert Receivable.objects.get(debtor_name="C").debtor_postcode == "01067"


def test_addresses_abroad_come_after_german_ones(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    profile = services.create_profile(
        actor=factories.ACTOR,
        organisation=org,
        name="mit-land",
        column_kassenzeichen="KZ",
        column_amount="Betrag",
        column_debtor_name="Name",
        column_debtor_postcode="PLZ",
        column_debtor_country="Land",
        default_budget_line=budget_line,
        default_department=department,
        default_purpose="Grundbesitzabgaben",
    )
    data = csv_bytes(
        [[kz(org, 1), "1,00", "Wien", "1010", "AT"], [kz(org, 2), "1,00", "Köln", "50667", "de"]],
        header=["KZ", "Betrag", "Name", "PLZ", "Land"],
    )
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="x.csv", actor=factories.ACTOR
    )
    receivables = [Receivable.objects.get(pk=pk) for pk in result.receivable_ids]
    assert [(r.debtor_name, r.debtor_country) for r in receivables] == [
        ("Köln", "DE"),
        ("Wien", "AT"),
    ]


def test_kassenzeichen_are_kept_as_the_finance_system_gave_them(
    org: Organisation, run: Run
) -> None:
    number = Scheme.of(org).validate(kz(org, 7))
    spaced = f"{number[:2]} {number[2:8]} {number[8:]}"
    result = run(csv_bytes([row(org, 1, Kassenzeichen=spaced)]))
    receivable = Receivable.objects.get(pk=result.receivable_ids[0])
    assert receivable.kassenzeichen == number
    assert receivable.kassenzeichen_display == kz(org, 7)


# --- once per file ------------------------------------------------------------------------------


def test_the_same_file_again_creates_nothing_and_says_when_it_came(
    org: Organisation, run: Run
) -> None:
    data = csv_bytes([row(org, 1), row(org, 2)])
    with clock.frozen(dt.datetime(2026, 12, 1, 10, 5, tzinfo=clock.BERLIN)):
        first = run(data, filename="op.csv")
    before = counts()
    again = run(data, filename="op.csv")
    renamed = run(data, filename="offene-posten-kopie.csv")
    assert (again.outcome, renamed.outcome) == (Outcome.ALREADY_IMPORTED, Outcome.ALREADY_IMPORTED)
    assert again.record == renamed.record == first.record
    assert again.receivable_ids == first.receivable_ids
    assert counts() == before
    assert services.describe(again).startswith(
        "Diese Datei wurde bereits importiert am 01.12.2026 um 10:05 Uhr („op.csv“, 2 Forderungen"
    )
    assert services.describe(again).endswith("keine neuen Forderungen.")


def test_one_changed_byte_is_another_file(org: Organisation, run: Run) -> None:
    run(csv_bytes([row(org, 1)]))
    result = run(csv_bytes([row(org, 1)], newline="\n"))
    _rejected_with(result, 2, "Kassenzeichen", "bereits vergeben")


# --- rejected rows ------------------------------------------------------------------------------

BAD_CELLS = [
    ({"Betrag": "12,5O"}, "Betrag", "„12,5O“ ist kein Betrag; erwartet wird z. B. „1.234,56“."),
    ({"Betrag": "-12,50"}, "Betrag", "negativ"),
    ({"Betrag": "12,50-"}, "Betrag", "negativ"),
    ({"Betrag": "0,00"}, "Betrag", "größer als 0"),
    ({"Betrag": "12,505"}, "Betrag", "mehr als zwei Nachkommastellen"),
    ({"Betrag": "12.50"}, "Betrag", "Dezimalkomma"),
    ({"Betrag": "1.23,45"}, "Betrag", "kein Betrag"),
    ({"Betrag": ""}, "Betrag", "Der Betrag fehlt."),
    ({"Fällig": "31.02.2026"}, "Fällig", "Den 31.02.2026 gibt es nicht."),
    ({"Fällig": "2026-02-01"}, "Fällig", "kein Datum im Format TT.MM.JJJJ"),
    ({"HHSt": "999.999"}, "HHSt", "Die Haushaltsstelle „999.999“ gibt es nicht."),
    ({"Name": ""}, "Name", "Der Name des Zahlungspflichtigen fehlt."),
    ({"Name": "x" * 201}, "Name", "Höchstens 200 Zeichen"),
    ({"Kassenzeichen": ""}, "Kassenzeichen", "Das Kassenzeichen fehlt."),
    ({"Kassenzeichen": "26-9000001-12"}, "Kassenzeichen", "hat 9 Ziffern; eingegeben wurden 11"),
    ({"Kassenzeichen": "26-9ABC01-1"}, "Kassenzeichen", "nur aus Ziffern"),
    ({"PLZ": "D-5234"}, "PLZ", "keine deutsche Postleitzahl"),
    ({"Text": ""}, "Text", "Der Zweck fehlt."),
]


@pytest.mark.parametrize(("cells", "column", "reason"), BAD_CELLS)
def test_a_bad_cell_rejects_the_whole_file_naming_row_column_and_reason(
    org: Organisation, run: Run, cells: dict[str, str], column: str, reason: str
) -> None:
    data = csv_bytes([row(org, 1), row(org, 2, **cells), row(org, 3)])
    before = counts()
    result = run(data)
    _rejected_with(result, 3, column, reason)
    assert result.error_count == 1
    assert counts() == before


def test_a_wrong_check_digit_says_which_would_be_right(org: Organisation, run: Run) -> None:
    good = kz(org, 4)
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    result = run(csv_bytes([row(org, 1, Kassenzeichen=wrong)]))
    _rejected_with(
        result,
        2,
        "Kassenzeichen",
        f"Die Prüfziffer von „{wrong}“ passt nicht zum Verfahren „Luhn (Modulo 10)“ der "
        f"Organisation; richtig wäre {good[-1]}.",
    )


def test_kassenzeichen_follow_the_organisations_scheme(
    department: Department, budget_line: BudgetLine
) -> None:
    org = factories.organisation(kz_prefix="51", kz_check_algorithm="mod11")
    line = factories.budget_line(org, "1.1")
    profile = services.create_profile(
        actor=factories.ACTOR,
        organisation=org,
        name="fv",
        column_kassenzeichen="Kassenzeichen",
        column_amount="Betrag",
        column_debtor_name="Name",
        default_budget_line=line,
        default_department=factories.department(org),
        default_purpose="Grundsteuer",
    )
    scheme = Scheme.of(org)
    valid = scheme.display(scheme.build(year=2026, number=12))
    luhn = Scheme(prefix="", year_digits=2, number_digits=6, algorithm="luhn").build(
        year=2026, number=12
    )
    data = csv_bytes(
        [[valid, "5,00", "A"], [luhn, "5,00", "B"]], header=["Kassenzeichen", "Betrag", "Name"]
    )
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="x.csv", actor=factories.ACTOR
    )
    assert _errors(result) == [
        (3, "Kassenzeichen", f"„{luhn}“: Kassenzeichen dieser Kasse beginnen mit 51.")
    ]


def test_an_inactive_budget_line_and_an_unknown_office_are_refused(
    org: Organisation, budget_line: BudgetLine, department: Department
) -> None:
    old = factories.budget_line(org, "alt.1")
    old.is_active = False
    old.save()
    profile = services.create_profile(
        actor=factories.ACTOR,
        organisation=org,
        name="mit-amt",
        column_kassenzeichen="KZ",
        column_amount="Betrag",
        column_debtor_name="Name",
        column_budget_line="HHSt",
        column_department="Amt",
        default_purpose="Gebühr",
    )
    factories.department(org, "Steueramt")
    data = csv_bytes(
        [
            [kz(org, 1), "1,00", "A", "alt.1", "steueramt"],
            [kz(org, 2), "1,00", "B", budget_line.code, "Tiefbauamt"],
            [kz(org, 3), "1,00", "C", "", department.name],
        ],
        header=["KZ", "Betrag", "Name", "HHSt", "Amt"],
    )
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="x.csv", actor=factories.ACTOR
    )
    assert _errors(result) == [
        (2, "HHSt", "Die Haushaltsstelle „alt.1“ ist nicht mehr aktiv."),
        (3, "Amt", "Das Amt „Tiefbauamt“ gibt es nicht (weder als Kürzel noch als Name)."),
        (4, "HHSt", "Die Haushaltsstelle fehlt, und das Profil nennt keine."),
    ]


def test_a_kassenzeichen_twice_in_the_file_names_both_rows(org: Organisation, run: Run) -> None:
    compact = Scheme.of(org).validate(kz(org, 1))
    result = run(csv_bytes([row(org, 1), row(org, 2), row(org, 3, Kassenzeichen=compact)]))
    assert _errors(result) == [
        (4, "Kassenzeichen", f"Das Kassenzeichen {kz(org, 1)} steht schon in Zeile 2.")
    ]


def test_a_kassenzeichen_that_stands_on_a_receivable_already_is_refused(
    org: Organisation, department: Department, budget_line: BudgetLine, run: Run
) -> None:
    with clock.frozen(dt.datetime(2026, 11, 3, 9, 0, tzinfo=clock.BERLIN)):
        factories.receivable(org, department, budget_line, kassenzeichen=kz(org, 2))
    before = counts()
    result = run(csv_bytes([row(org, 1), row(org, 2)]))
    assert _errors(result) == [
        (
            3,
            "Kassenzeichen",
            f"Das Kassenzeichen {kz(org, 2)} ist bereits vergeben (Forderung vom 03.11.2026).",
        )
    ]
    assert counts() == before


def test_every_refusal_of_the_file_is_reported_in_row_order(org: Organisation, run: Run) -> None:
    data = csv_bytes(
        [
            row(org, 1),
            row(org, 2, Betrag="abc", Fällig="30.02.2027"),
            row(org, 3),
            row(org, 4, Name=""),
        ]
    )
    result = run(data)
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "Betrag"),
        (3, "Fällig"),
        (5, "Name"),
    ]
    assert services.describe(result) == (
        "Die Datei wurde abgelehnt; es wurde nichts angelegt. 3 Fehler gefunden."
    )


def test_the_report_lists_the_first_thousand_and_counts_the_rest(
    org: Organisation, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openitems, "MAX_LISTED_ERRORS", 2)
    result = run(csv_bytes([row(org, n, Betrag="x") for n in range(1, 5)]))
    assert (len(result.errors), result.error_count) == (2, 4)


# --- rejected files -----------------------------------------------------------------------------


def test_an_empty_file_is_refused(run: Run) -> None:
    _rejected_with(run(b""), None, "", "Die Datei ist leer.")
    _rejected_with(run(b"\xef\xbb\xbf\r\n\r\n"), None, "", "Die Datei ist leer.")


def test_a_header_without_rows_is_refused(run: Run) -> None:
    _rejected_with(run(csv_bytes([])), None, "", "keine offenen Posten, nur die Kopfzeile")


def test_a_missing_column_is_named(org: Organisation, run: Run) -> None:
    header = [name if name != "Betrag" else "Summe" for name in HEADER]
    result = run(csv_bytes([row(org, 1)], header=header))
    assert result.errors[0].row == 1
    assert result.errors[0].column == "Betrag"
    assert result.errors[0].message.startswith(
        "Die Spalte „Betrag“ (Betrag) fehlt in der Kopfzeile. Vorhanden sind: „Kassenzeichen“, "
        "„Summe“"
    )


def test_header_names_are_found_whatever_their_case(org: Organisation, run: Run) -> None:
    header = [name.upper() for name in HEADER]
    assert run(csv_bytes([row(org, 1)], header=header)).outcome == Outcome.CREATED


def test_ragged_rows_and_too_many_columns_are_refused(org: Organisation, run: Run) -> None:
    data = csv_bytes([row(org, 1)[:-1], [*row(org, 2), "extra"], row(org, 3)])
    assert _errors(run(data)) == [
        (2, "", "Die Zeile hat 7 Spalten, die Kopfzeile hat 8."),
        (3, "", "Die Zeile hat 9 Spalten, die Kopfzeile hat 8."),
    ]


def test_blank_lines_are_skipped_but_counted(org: Organisation, run: Run) -> None:
    data = csv_bytes([row(org, 1), [""], [""] * 8, row(org, 2, Betrag="x")])
    assert [(e.row, e.column) for e in run(data).errors] == [(5, "Betrag")]


def test_a_windows_1252_file_read_as_utf8_names_the_lines(org: Organisation, run: Run) -> None:
    data = csv_bytes([row(org, 1, Name="Jörg"), row(org, 2, Name="Bob")], encoding="cp1252")
    result = run(data)
    assert result.outcome == Outcome.REJECTED
    assert result.errors[0].row is None
    assert "nicht in UTF-8 kodiert" in result.errors[0].message
    assert "Windows-1252" in result.errors[0].message
    # The header ("Fällig") is line 1 and Jörg's row line 2: both have an "ä"/"ö" byte.
    assert [e.row for e in result.errors[1:]] == [1, 2]
    assert "Das Byte 0xE4" in result.errors[1].message


def test_a_utf8_file_read_as_windows_1252_is_refused_not_mangled(
    org: Organisation, profile: OpenItemProfile, run: Run
) -> None:
    profile.encoding = "cp1252"
    profile.save()
    result = run(csv_bytes([row(org, 1, Name="Jörg")]))
    _rejected_with(
        result, 1, "", "Die Datei ist in UTF-8 kodiert, das Profil erwartet Windows-1252"
    )
    assert not Receivable.objects.filter(debtor_name__contains="Ã").exists()


def test_a_file_over_the_limit_is_refused(
    org: Organisation, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openitems, "MAX_FILE_BYTES", 100)
    _rejected_with(run(csv_bytes([row(org, 1)])), None, "", "höchstens 0 MB")


def test_a_spreadsheet_or_utf16_file_is_not_read_as_csv(org: Organisation, run: Run) -> None:
    _rejected_with(run(b"PK\x03\x04\x14\x00rest"), None, "", "ZIP- oder Excel-Datei")
    utf16 = csv_bytes([row(org, 1)], encoding="utf-16")
    _rejected_with(run(utf16), 1, "", "Null-Bytes")


def test_an_unclosed_quote_is_refused(org: Organisation, run: Run) -> None:
    data = csv_bytes([row(org, 1), row(org, 2, Name='"Müller')])
    _rejected_with(run(data), 3, "", "ab dieser Zeile nicht als CSV lesbar: Ein Anführungszeichen")


# --- profiles -----------------------------------------------------------------------------------


def test_semicolons_decimal_comma_and_windows_1252(
    org: Organisation, profile: OpenItemProfile, run: Run
) -> None:
    profile.encoding = "cp1252"
    profile.save()
    data = csv_bytes(
        [row(org, 1, Name="Käthe Schäfer", Betrag="1.234,56"), row(org, 2, Betrag="7,5")],
        encoding="cp1252",
    )
    result = run(data)
    first, second = (Receivable.objects.get(pk=pk) for pk in sorted(result.receivable_ids))
    assert (first.debtor_name, first.amount_cents, second.amount_cents) == (
        "Käthe Schäfer",
        123456,
        750,
    )


def test_commas_decimal_point_and_utf8_with_bom(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    profile = services.create_profile(
        actor=factories.ACTOR,
        organisation=org,
        name="sap",
        encoding="utf-8",
        delimiter=",",
        decimal_separator=".",
        thousands_separator=",",
        date_format="%Y-%m-%d",
        column_kassenzeichen="Reference",
        column_amount="Amount",
        column_debtor_name="Debtor",
        column_due_date="Due",
        column_reference="Document",
        default_budget_line=budget_line,
        default_department=department,
        default_purpose="Grundsteuer B",
    )
    data = (
        b"\xef\xbb\xbf"
        + (
            "Reference,Amount,Debtor,Due,Document\r\n"
            f'{kz(org, 1)},"1,234.56","Müller, Jürgen",2027-01-15,4711\r\n'
            f"{kz(org, 2)},7.5,Weiß,2027-02-01,4712\r\n"
        ).encode()
    )
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="sap.csv", actor=factories.ACTOR
    )
    receivables = sorted(
        Receivable.objects.filter(pk__in=result.receivable_ids), key=lambda r: r.source_reference
    )
    assert [
        (r.debtor_name, r.amount_cents, r.due_date, r.source_reference) for r in receivables
    ] == [
        ("Müller, Jürgen", 123456, dt.date(2027, 1, 15), "4711"),
        ("Weiß", 750, dt.date(2027, 2, 1), "4712"),
    ]
    bad = services.import_open_items(
        organisation=org,
        profile=profile,
        data=b"Reference,Amount,Debtor,Due,Document\r\n"
        + f'{kz(org, 3)},"12,50",X,2027-01-15,1\r\n'.encode(),
        filename="bad.csv",
        actor=factories.ACTOR,
    )
    _rejected_with(bad, 2, "Amount", "Das Profil erwartet einen Dezimalpunkt, z. B. „1,234.56“.")


def test_a_file_without_header_is_read_by_column_numbers(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    profile = services.create_profile(
        actor=factories.ACTOR,
        organisation=org,
        name="ohne-kopf",
        has_header=False,
        delimiter="\t",
        column_kassenzeichen="2",
        column_amount="4",
        column_debtor_name="1",
        default_budget_line=budget_line,
        default_department=department,
        default_purpose="Friedhofsgebühr",
    )
    data = csv_bytes(
        [["Erika Mustermann", kz(org, 1), "x", "45,50"], ["Max", kz(org, 2), "y", "abc"]],
        header=None,
        delimiter="\t",
    )
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="x.tsv", actor=factories.ACTOR
    )
    assert _errors(result) == [
        (2, "Spalte 4", "„abc“ ist kein Betrag; erwartet wird z. B. „1234,56“.")
    ]
    data = csv_bytes([["Erika Mustermann", kz(org, 1), "x", "45,50"]], header=None, delimiter="\t")
    result = services.import_open_items(
        organisation=org, profile=profile, data=data, filename="x.tsv", actor=factories.ACTOR
    )
    assert Receivable.objects.get(pk=result.receivable_ids[0]).amount_cents == 4550
    short = csv_bytes([["Erika", kz(org, 3)]], header=None, delimiter="\t")
    result = services.import_open_items(
        organisation=org, profile=profile, data=short, filename="y.tsv", actor=factories.ACTOR
    )
    assert _errors(result)[0] == (
        1,
        "Spalte 4",
        "Die erste Zeile hat 2 Spalten; das Profil erwartet Betrag in Spalte 4.",
    )


def test_a_later_change_of_the_profile_leaves_the_import_as_it_was(
    org: Organisation, profile: OpenItemProfile, run: Run
) -> None:
    result = run(csv_bytes([row(org, 1)]))
    profile.column_amount = "Summe"
    profile.decimal_separator = "."
    profile.thousands_separator = ""
    profile.save()
    record = OpenItemImport.objects.get(pk=result.record.pk)  # type: ignore[union-attr]
    assert record.profile_settings["columns"]["amount"] == "Betrag"
    assert record.profile_settings["decimal_separator"] == ","


def test_a_profile_of_another_organisation_is_refused(profile: OpenItemProfile) -> None:
    other = factories.organisation()
    with pytest.raises(ValidationFailed, match="anderen Organisation"):
        services.import_open_items(
            organisation=other, profile=profile, data=b"x", filename="x", actor=factories.ACTOR
        )


def test_the_import_creates_nothing_of_another_organisations_books(
    org: Organisation, run: Run
) -> None:
    other = factories.organisation()
    run(csv_bytes([row(org, 1)]))
    assert not Receivable.objects.filter(organisation=other).exists()
    assert not selectors.imports(organisation=other).exists()
    assert selectors.imports(organisation=org).count() == 1


def test_a_failure_half_way_leaves_nothing_behind(
    org: Organisation, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rathauskasse.ledger import services as ledger_services

    def broken(**kwargs: object) -> None:
        raise RuntimeError("connection lost")

    monkeypatch.setattr(ledger_services, "post_many", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        run(csv_bytes([row(org, 1), row(org, 2)]))
    assert counts() == before
