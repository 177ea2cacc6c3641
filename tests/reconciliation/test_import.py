"""Importing statement files: once per file, each line once by the bank's identifiers, a bad file
refused as a whole."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections

from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import Organisation
from rathauskasse.reconciliation import decisions, services
from rathauskasse.reconciliation.models import (
    BankAccount,
    ClearingStatus,
    FileStatus,
    Outcome,
    Rule,
    Statement,
    StatementFile,
    StatementLine,
)
from rathauskasse.reconciliation.services import ImportOutcome, dedup_key
from tests import factories
from tests.reconciliation.conftest import (
    IBAN,
    MATCHER,
    OTHER_IBAN,
    balances,
    counts,
    info,
    line,
    parse_list,
    run,
    statement_bytes,
)

pytestmark = pytest.mark.django_db


def test_the_models_speak_the_contracts_values() -> None:
    assert set(Rule.values) == {rule.value for rule in decisions.Rule}
    assert set(Outcome.values) == {outcome.value for outcome in decisions.Outcome}


def test_two_identical_transfers_without_bank_identifiers_both_count(
    org: Organisation, bank_account: BankAccount
) -> None:
    twins = [line(1500, "Spende", entry=1), line(1500, "Spende", entry=2)]
    result = run(org, twins)
    assert result.outcome == ImportOutcome.IMPORTED
    assert (result.lines_new, result.lines_duplicate, result.clearing) == (2, 0, 2)
    assert StatementLine.objects.count() == 2
    assert balances(org)[f"bank:{IBAN}"] == 3000
    assert balances(org)["suspense"] == -3000


def test_the_same_file_again_adds_nothing_and_says_when_it_came(
    org: Organisation, bank_account: BankAccount
) -> None:
    lines = [line(1500, "Spende", entry=1), line(1500, "Spende", entry=2)]
    first = run(org, lines)
    before = counts()
    again = run(org, lines, file_name="nochmal.xml")
    assert again.outcome == ImportOutcome.ALREADY_IMPORTED
    assert again.file == first.file
    assert "bereits am" in again.message
    assert "auszug.xml" in again.message
    assert counts() == before


def test_the_same_statement_in_another_file_adds_nothing(
    org: Organisation, bank_account: BankAccount
) -> None:
    lines = [line(1500, "Spende", entry=1), line(1500, "Spende", entry=2)]
    run(org, lines)
    # Exported again: other bytes (another creation time), the same statement id and positions.
    again = run(org, lines, data=statement_bytes(lines, salt="zweiter Export"))
    assert again.outcome == ImportOutcome.IMPORTED
    assert (again.lines_total, again.lines_new, again.lines_duplicate) == (2, 0, 2)
    assert StatementLine.objects.count() == 2
    assert balances(org)[f"bank:{IBAN}"] == 3000
    assert "2 bereits importiert" in again.message


def test_an_overlapping_file_adds_only_the_new_lines(
    org: Organisation, bank_account: BankAccount
) -> None:
    monday = info(statement_id="RPT-1")
    tuesday = info(statement_id="RPT-2")
    first = [
        line(1000, "A", statement=monday, entry=1, account_servicer_reference="BANKREF-1"),
        line(2000, "B", statement=monday, entry=2, account_servicer_reference="BANKREF-2"),
    ]
    # An intraday report and the day's statement overlap: other statement id, other positions.
    second = [
        line(2000, "B", statement=tuesday, entry=1, account_servicer_reference="BANKREF-2"),
        line(3000, "C", statement=tuesday, entry=2, account_servicer_reference="BANKREF-3"),
    ]
    run(org, first)
    result = run(org, second)
    assert (result.lines_new, result.lines_duplicate) == (1, 1)
    assert sorted(StatementLine.objects.values_list("amount_cents", flat=True)) == [
        1000,
        2000,
        3000,
    ]
    assert balances(org)[f"bank:{IBAN}"] == 6000
    assert Statement.objects.get(statement_id="RPT-2").lines_new == 1


def test_end_to_end_id_date_and_amount_identify_a_line_without_bank_reference(
    org: Organisation, bank_account: BankAccount
) -> None:
    first = [line(1000, "A", statement=info(statement_id="S1"), end_to_end_id="E2E-77")]
    second = [
        line(1000, "A", statement=info(statement_id="S2"), entry=4, end_to_end_id="E2E-77"),
        # NOTPROVIDED is no identifier: these are told apart by their positions.
        line(500, "X", statement=info(statement_id="S2"), entry=5, end_to_end_id="NOTPROVIDED"),
        line(500, "X", statement=info(statement_id="S2"), entry=6, end_to_end_id="NOTPROVIDED"),
    ]
    run(org, first)
    result = run(org, second)
    assert (result.lines_new, result.lines_duplicate) == (2, 1)


def test_transactions_of_a_batch_entry_share_the_bank_reference_but_both_count(
    org: Organisation, bank_account: BankAccount
) -> None:
    batch = [
        line(700, "A", transaction_index=1, account_servicer_reference="SAMMLER-9", batch=True),
        line(800, "B", transaction_index=2, account_servicer_reference="SAMMLER-9", batch=True),
    ]
    assert run(org, batch).lines_new == 2


def test_dedup_keys_follow_the_issues_order() -> None:
    statement = info(statement_id="S-1")
    assert dedup_key(line(1, statement=statement, account_servicer_reference="R1")) == "ref:R1"
    assert (
        dedup_key(
            line(1, statement=statement, account_servicer_reference="R1", transaction_index=3)
        )
        == "ref:R1:3"
    )
    assert dedup_key(line(150, statement=statement, end_to_end_id="E1")) == "e2e:E1:2026-11-30:150"
    assert dedup_key(line(1, statement=statement, entry=7, end_to_end_id="NOTPROVIDED")) == (
        "pos:S-1:7:0"
    )
    no_id = info(statement_id="")
    assert dedup_key(line(1, statement=no_id, entry=2), file_sha256="abc") == "pos:file:abc:2:0"
    assert len(dedup_key(line(1, account_servicer_reference="R" * 300))) <= 255


def test_a_statement_for_an_unknown_account_is_refused_whole(
    org: Organisation, bank_account: BankAccount
) -> None:
    before = counts()
    lines = [line(1000, "A"), line(2000, "B", statement=info(iban=OTHER_IBAN), entry=1)]
    result = run(org, lines)
    assert result.outcome == ImportOutcome.REJECTED
    assert OTHER_IBAN in result.message
    assert "kein Bankkonto von" in result.message
    assert "nichts importiert" in result.message
    assert counts() == before


def test_an_account_of_another_organisation_is_unknown(
    org: Organisation, bank_account: BankAccount
) -> None:
    other = factories.organisation()
    result = run(other, [line(1000, "A")])
    assert result.outcome == ImportOutcome.REJECTED
    assert StatementLine.objects.count() == 0


def test_an_inactive_account_and_a_foreign_currency_are_refused(
    org: Organisation, bank_account: BankAccount
) -> None:
    usd = run(org, [line(1000, "A", statement=info(currency="USD"))])
    assert usd.outcome == ImportOutcome.REJECTED
    assert "Euro" in usd.message
    BankAccount.objects.filter(pk=bank_account.pk).update(is_active=False)
    inactive = run(org, [line(1000, "A")])
    assert inactive.outcome == ImportOutcome.REJECTED
    assert "nicht mehr aktiv" in inactive.message
    assert StatementFile.objects.count() == 0


def test_an_unreadable_line_in_the_middle_refuses_the_whole_file(
    org: Organisation, bank_account: BankAccount, department: object, budget_line: object
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070)
    before = counts()
    lines = [
        line(3070, f"Kassenzeichen {receivable.kassenzeichen}", entry=1),
        line(1000, "kaputt", entry=2, additional_info="UNREADABLE"),
        line(2000, "C", entry=3),
    ]
    result = run(org, lines)
    assert result.outcome == ImportOutcome.REJECTED
    assert "Buchung 2" in result.message
    assert "nichts importiert" in result.message
    assert counts() == before
    receivable.refresh_from_db()
    assert receivable.status == "open"


def test_a_german_account_number_finds_its_iban(org: Organisation) -> None:
    account = BankAccount.objects.create(
        organisation=org, iban="DE89 3704 0044 0532 0130 00", name="Girokonto"
    )
    account.refresh_from_db()
    assert account.iban == IBAN
    mt940 = info(iban="", account_number="37040044/0532013000", format="mt940")
    result = run(org, [line(1000, "A", statement=mt940)])
    assert result.outcome == ImportOutcome.IMPORTED
    assert Statement.objects.get().bank_account == account


def test_an_import_records_its_file_statements_and_an_audit_entry(
    org: Organisation, bank_account: BankAccount
) -> None:
    result = run(org, [line(1000, "A"), line(-250, "Porto", entry=2)])
    record = StatementFile.objects.get()
    assert result.file == record
    assert record.status == FileStatus.IMPORTED
    assert (record.lines_new, record.credit_cents, record.debit_cents) == (2, 1000, 250)
    assert len(record.sha256) == 64
    statement = Statement.objects.get()
    assert (statement.opening_balance_cents, statement.closing_balance_cents) == (100_000, 200_000)
    assert (statement.statement_id, statement.sequence_number) == ("STMT-2026-11-30", "230")
    assert statement.lines_total == 2
    entry = AuditEntry.objects.get(action="statement_file.imported")
    assert entry.after["lines_new"] == 2
    assert entry.after["clearing"] == 2
    assert "Eingänge 10,00 €" in result.message
    assert "Ausgänge 2,50 €" in result.message
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok


def test_every_field_worth_keeping_is_stored(org: Organisation, bank_account: BankAccount) -> None:
    original = line(
        1234,
        "Verwendungszweck",
        end_to_end_id="E2E-1",
        mandate_id="M-1",
        creditor_id="DE98ZZZ09999999999",
        counterparty_bic="COLSDE33XXX",
        bank_transaction_code="PMNT-RCDT-ESCT",
        extra=(("Purp", "GOVT"),),
    )
    run(org, [original])
    stored = StatementLine.objects.get()
    for name in ("amount_cents", "remittance_text", "end_to_end_id", "mandate_id", "creditor_id"):
        assert getattr(stored, name) == getattr(original, name)
    assert stored.extra == {"Purp": "GOVT"}
    assert stored.booking_date == original.booking_date
    assert stored.clearing_status == ClearingStatus.OPEN
    assert stored.rule == Rule.NO_REFERENCE


def test_zero_lines_are_an_empty_import(org: Organisation, bank_account: BankAccount) -> None:
    result = run(org, [])
    assert result.outcome == ImportOutcome.IMPORTED
    assert result.lines_total == 0


def test_progress_is_reported_while_booking(
    org: Organisation, bank_account: BankAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHUNK", 2)
    seen: list[services.Progress] = []
    lines = [line(100 + n, "x", entry=n) for n in range(1, 6)]
    run(org, lines, progress=seen.append)
    booking = [(p.done, p.total) for p in seen if p.phase == services.Phase.BOOK]
    assert booking == [(2, 5), (4, 5), (5, 5)]
    assert any(p.phase == services.Phase.READ for p in seen)
    assert StatementLine.objects.count() == 5


def test_a_line_that_names_no_statement_field_still_imports(
    org: Organisation, bank_account: BankAccount
) -> None:
    bare = dataclasses.replace(line(990), counterparty_name="", counterparty_iban="")
    assert run(org, [bare]).clearing == 1


# --- PostgreSQL: imports at the same time ---------------------------------------------------


def _race(functions: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(functions))

    def call(function: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return function()
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(call, functions))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_overlapping_files_imported_at_once_book_each_line_once(
    org: Organisation, bank_account: BankAccount, department: Any, budget_line: Any
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070)
    shared = line(3070, f"KZ {receivable.kassenzeichen}", account_servicer_reference="SHARED")
    first = [
        shared,
        *(line(100 + n, "a", entry=n, account_servicer_reference=f"A{n}") for n in range(2, 40)),
    ]
    second = [
        dataclasses.replace(shared, statement=info(statement_id="OTHER")),
        *(
            line(
                200 + n,
                "b",
                statement=info(statement_id="OTHER"),
                entry=n,
                account_servicer_reference=f"B{n}",
            )
            for n in range(2, 40)
        ),
    ]
    results = _race([lambda: run(org, first), lambda: run(org, second)])
    assert all(isinstance(r, services.ImportResult) for r in results), results
    assert sorted(r.lines_duplicate for r in results) == [0, 1]
    assert StatementLine.objects.count() == 77
    assert StatementLine.objects.filter(account_servicer_reference="SHARED").count() == 1
    assert (
        ledger_selectors.open_item_balance(organisation_id=org.pk, open_item_id=receivable.pk) == 0
    )
    assert balances(org)["suspense"] == -sum(100 + n + 200 + n for n in range(2, 40))
    assert ledger_selectors.check_integrity(organisation_id=org.pk).ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_files_paying_one_receivable_at_once_book_it_once(
    org: Organisation, bank_account: BankAccount, department: Any, budget_line: Any
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070)
    text = f"KZ {receivable.kassenzeichen}"
    files = [
        [line(3070, text, statement=info(statement_id=name), account_servicer_reference=name)]
        for name in ("X", "Y")
    ]
    results = _race([lambda f=f: run(org, f) for f in files])  # type: ignore[misc]
    assert sorted((r.booked, r.clearing) for r in results) == [(0, 1), (1, 0)]
    assert (
        ledger_selectors.open_item_balance(organisation_id=org.pk, open_item_id=receivable.pk) == 0
    )
    assert balances(org)["suspense"] == -3070


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_uploads_progress_is_visible_while_it_books(
    org: Organisation, bank_account: BankAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "CHUNK", 2)
    lines = [line(100 + n, "x", entry=n) for n in range(1, 6)]
    record = services.upload_statement(
        organisation=org, data=statement_bytes(lines), file_name="a", actor=factories.ACTOR
    )
    seen: list[tuple[int, int]] = []
    real = services.progress_recorder

    def watched(file_id: int) -> Callable[[services.Progress], None]:
        report = real(file_id)

        def record_and_look(progress: services.Progress) -> None:
            report(progress)
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:
                    cursor.execute(
                        "SELECT progress_done, progress_total FROM reconciliation_statementfile "
                        "WHERE id = %s",
                        [file_id],
                    )
                    seen.append(tuple(cursor.fetchone()))
            finally:
                other.close()

        return record_and_look

    monkeypatch.setattr(services, "progress_recorder", watched)
    result = services.import_upload(file_id=record.pk, parse=parse_list(lines), matcher=MATCHER)
    assert result is not None and result.lines_new == 5
    # Read (lines so far, total unknown), then booked of the total, each seen from outside.
    assert seen == [(2, 0), (4, 0), (2, 5), (4, 5), (5, 5)]


def test_a_bank_account_is_validated_and_audited(org: Organisation) -> None:
    account = services.create_bank_account(
        actor=factories.ACTOR, organisation=org, iban="de89 3704 0044 0532 0130 00", name="Giro"
    )
    assert account.iban == IBAN
    assert AuditEntry.objects.filter(action="bank_account.created").exists()
    with pytest.raises(ValidationFailed, match="keine gültige IBAN"):
        services.create_bank_account(
            actor=factories.ACTOR, organisation=org, iban="DE00123", name="falsch"
        )
    with pytest.raises(ValidationFailed):
        services.create_bank_account(actor=factories.ACTOR, organisation=org, iban=IBAN, name="2")


def test_the_demo_city_gets_its_bank_account_once(org: Organisation) -> None:
    from rathauskasse.demo import loader

    first = loader.ensure_bank_account(org)
    assert loader.ensure_bank_account(org) == first
    assert first.iban == org.iban
    assert BankAccount.objects.filter(organisation=org).count() == 1
