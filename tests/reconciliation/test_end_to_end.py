"""Real files through the real parser, matcher and booking: what the cash office sees.

Every statement of the shared corpus imports (or, for a foreign currency, is refused as a whole),
the ledger balances, and a second import adds nothing. A municipal camt.053 with the ways
citizens really write a Kassenzeichen is booked where it can be, and only there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableStatus
from rathauskasse.receivables.services import Debtor
from rathauskasse.reconciliation import parsers, selectors, services
from rathauskasse.reconciliation.models import (
    BankAccount,
    ClearingStatus,
    LineAllocation,
    Rule,
    StatementLine,
)
from tests import factories
from tests.reconciliation.conftest import corpus_files, counts

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR
CITY_IBAN = "DE89370400440532013000"


def _import(org: Organisation, data: bytes, name: str = "auszug.xml") -> services.ImportResult:
    return services.import_statement(organisation=org, data=data, file_name=name, actor=ACTOR)


@pytest.mark.parametrize("path", corpus_files(".xml", ".sta"), ids=lambda p: p.name)
def test_every_corpus_file_imports_once_and_the_ledger_balances(
    org: Organisation, path: Path
) -> None:
    data = path.read_bytes()
    parsed = list(parsers.parse(data))
    statements = {line.statement for line in parsed}
    ibans = {services.account_iban(info) for info in statements} - {""}
    for n, iban in enumerate(sorted(ibans)):
        BankAccount.objects.create(organisation=org, iban=iban, name=f"Konto {n}")
    before = counts()
    result = _import(org, data, path.name)
    foreign = any((line.currency or line.statement.currency) != "EUR" for line in parsed)
    if foreign or len(ibans) < len(
        {(info.account_iban, info.account_number) for info in statements}
    ):
        assert result.outcome == services.ImportOutcome.REJECTED
        assert result.message
        assert counts() == before
        return
    assert result.outcome == services.ImportOutcome.IMPORTED, result.message
    assert result.lines_new == StatementLine.objects.filter(organisation=org).count() > 0
    report = ledger_selectors.check_integrity(organisation_id=org.pk)
    assert report.ok, report.problems
    again = _import(org, data, path.name)
    assert again.outcome == services.ImportOutcome.ALREADY_IMPORTED
    assert StatementLine.objects.filter(organisation=org).count() == result.lines_new


def _entry(n: int, cents: int, text: str, *, name: str = "Hans Yilmaz", reversal: bool = False,
           e2e: str = "NOTPROVIDED") -> str:  # fmt: skip
    euros = f"{cents // 100}.{cents % 100:02d}"
    sign = "DBIT" if reversal else "CRDT"
    return (
        f'<Ntry><Amt Ccy="EUR">{euros}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"{'<RvslInd>true</RvslInd>' if reversal else ''}<Sts><Cd>BOOK</Cd></Sts>"
        "<BookgDt><Dt>2026-11-30</Dt></BookgDt><ValDt><Dt>2026-11-30</Dt></ValDt>"
        f"<AcctSvcrRef>MUSTER-{n}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>{e2e}"
        f'</EndToEndId></Refs><Amt Ccy="EUR">{euros}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr></RltdPties>"
        f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def _camt(entries: list[str], statement_id: str = "MUSTER-2026-11-30") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-30T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>2026-11-30T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{CITY_IBAN}</IBAN></Id></Acct>{''.join(entries)}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()


@pytest.fixture
def city(org: Organisation) -> Organisation:
    BankAccount.objects.create(organisation=org, iban=CITY_IBAN, name="Sparkasse Girokonto")
    return org


def _notice(org: Organisation, department: Department, line: BudgetLine, cents: int,
            name: str) -> Receivable:  # fmt: skip
    return factories.receivable(
        org, department, line, cents, debtor=Debtor(name=name), due_date=dt.date(2026, 11, 15)
    )


def test_a_municipal_statement_is_booked_where_the_reference_is_sure_and_only_there(
    city: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    clean, broken, confused, typo, pair_a, pair_b, bare = (
        _notice(city, department, budget_line, cents, name)
        for cents, name in (
            (4500, "Hans Yılmaz"),
            (3070, "Erika Weiß"),
            (1200, "Jan Nowak"),
            (8000, "Anna Schäfer"),
            (1500, "Ole Jäger"),
            (2500, "Ole Jäger"),
            (9900, "Maria Groß"),
        )
    )
    kz = {r: r.kassenzeichen for r in (clean, broken, confused, typo, pair_a, pair_b, bare)}
    confusable = kz[confused][:3] + kz[confused][3:].replace("0", "O", 1)  # one letter for a digit
    wrong_digit = kz[typo][:-3] + str((int(kz[typo][-3]) + 3) % 10) + kz[typo][-2:]
    data = _camt(
        [
            _entry(
                1, 4500, f"Kassenzeichen {clean.kassenzeichen_display} Hundesteuer", e2e="E2E-1"
            ),
            _entry(2, 3070, f"KZ {kz[broken][:4]}\n{kz[broken][4:]}", name="Erika Weiss"),
            _entry(3, 1200, f"KZ {confusable}", name="Jan Nowak"),
            _entry(4, 8000, f"Kassenzeichen {wrong_digit}", name="Anna Schaefer"),
            _entry(5, 4000, f"KZ {kz[pair_a]} und {kz[pair_b]}", name="Ole Jaeger"),
            _entry(6, 9900, "Rechnung vom 3.11.", name="Maria Gross"),
        ]
    )
    result = _import(city, data)
    assert result.outcome == services.ImportOutcome.IMPORTED, result.message
    paid = {r for r in kz if receivable_selectors.open_amount(receivable=r) == 0}
    assert paid == {clean, broken, confused, pair_a, pair_b}
    by_entry = {row.entry_index: row for row in StatementLine.objects.filter(organisation=city)}
    assert by_entry[3].rule == Rule.EXACT and "O→0" in by_entry[3].reason
    assert by_entry[5].rule == Rule.SPLIT
    for waiting in (4, 6):
        row = by_entry[waiting]
        assert row.clearing_status == ClearingStatus.OPEN
        assert not LineAllocation.objects.filter(line=row).exists()
    # The clearing queue offers the right notice for the line without a reference.
    offered = selectors.suggestions(organisation=city, line=by_entry[6])
    assert offered[0].item.receivable_id == bare.pk
    assert -ledger_selectors.kind_balances(organisation_id=city.pk)["suspense"] == 8000 + 9900

    # The next day's file repeats the first statement and returns the clean payment.
    returned = _camt(
        [
            _entry(
                1, 4500, f"Kassenzeichen {clean.kassenzeichen_display} Hundesteuer", e2e="E2E-1"
            ),
            _entry(7, 4500, "RUECKLASTSCHRIFT", reversal=True, e2e="E2E-1"),
        ]
    )
    second = _import(city, returned, "auszug-2.xml")
    assert (second.lines_duplicate, second.lines_new) == (1, 1)
    assert receivable_selectors.open_amount(receivable=clean) == 4500
    assert Receivable.objects.get(pk=clean.pk).status == ReceivableStatus.OPEN
    assert Receivable.objects.get(pk=broken.pk).status == ReceivableStatus.PAID
    ret = StatementLine.objects.get(organisation=city, account_servicer_reference="MUSTER-7")
    assert ret.rule == Rule.REVERSAL and ret.reverses == by_entry[1]
