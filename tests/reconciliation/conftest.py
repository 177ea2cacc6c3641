"""Builders for statement imports: bank accounts, statement lines, and stand-ins for the parser
and the matcher (the real ones come from their own modules; these follow the same contracts)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from rathauskasse.core.models import AuditEntry
from rathauskasse.events.models import Event
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import JournalEntry, JournalLine
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.reconciliation import services
from rathauskasse.reconciliation.decisions import (
    Allocation,
    Decision,
    OpenItem,
    Outcome,
    Payout,
    Rule,
)
from rathauskasse.reconciliation.lines import StatementError, StatementInfo, StatementLine
from rathauskasse.reconciliation.models import (
    BankAccount,
    LineAllocation,
    Statement,
    StatementFile,
)
from rathauskasse.reconciliation.models import (
    StatementLine as LineRow,
)
from tests import factories

IBAN = "DE89370400440532013000"
OTHER_IBAN = "DE02120300000000202051"
DAY = dt.date(2026, 11, 30)


def info(
    iban: str = IBAN, statement_id: str = "STMT-2026-11-30", **overrides: Any
) -> StatementInfo:
    fields: dict[str, Any] = {
        "format": "camt.053.001.08",
        "statement_id": statement_id,
        "account_iban": iban,
        "sequence_number": "230",
        "from_date": DAY,
        "to_date": DAY,
        "opening_balance_cents": 100_000,
        "closing_balance_cents": 200_000,
    }
    fields.update(overrides)
    return StatementInfo(**fields)


def line(
    amount_cents: int,
    text: str = "",
    *,
    statement: StatementInfo | None = None,
    entry: int = 1,
    **overrides: Any,
) -> StatementLine:
    fields: dict[str, Any] = {
        "statement": statement or info(),
        "entry_index": entry,
        "transaction_index": 0,
        "amount_cents": amount_cents,
        "currency": "EUR",
        "booking_date": DAY,
        "value_date": DAY,
        "remittance_text": text,
        "counterparty_name": "Erika Mustermann",
        "counterparty_iban": "DE75512108001245126199",
    }
    fields.update(overrides)
    return StatementLine(**fields)


# --- a stand-in parser: a JSON list of lines, each with its statement ---------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def statement_bytes(lines: Sequence[StatementLine], *, salt: str = "") -> bytes:
    """A file the stand-in parser reads (what the admin and the command get uploaded)."""
    rows = []
    for item in lines:
        data = {k: _jsonable(v) for k, v in dataclasses.asdict(item).items() if k != "extra"}
        data["statement"] = {k: _jsonable(v) for k, v in data["statement"].items()}
        rows.append(data)
    return json.dumps({"salt": salt, "lines": rows}, sort_keys=True).encode()


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def parse_json(data: bytes) -> Iterator[StatementLine]:
    try:
        rows = json.loads(data)["lines"]
    except (ValueError, KeyError, TypeError) as exc:
        raise StatementError("Die Datei ist kein Testauszug.") from exc
    for number, row in enumerate(rows, start=1):
        if row.get("unreadable"):
            raise StatementError(f"Buchung {number}: Der Betrag „12,3x“ ist keine Zahl.")
        statement = dict(row.pop("statement"))
        for key in ("from_date", "to_date"):
            statement[key] = _date(statement[key])
        statement["created_at"] = None
        row["booking_date"] = _date(row["booking_date"])
        row["value_date"] = _date(row["value_date"])
        yield StatementLine(statement=StatementInfo(**statement), **row)


def parse_list(lines: Sequence[StatementLine]) -> Callable[[bytes], Iterator[StatementLine]]:
    def parse(_data: bytes) -> Iterator[StatementLine]:
        for item in lines:
            if item.additional_info == "UNREADABLE":
                raise StatementError(f"Buchung {item.entry_index}: unlesbarer Betrag.")
            yield item

    return parse


# --- a stand-in matcher: the rules of decisions.py, simply ------------------------------------

_DIGITS = re.compile(r"\d[\d\- ./]*\d")
_PAYOUT = re.compile(r"PAYOUT-[A-Z0-9]+")


def candidates(statement_line: StatementLine, scheme: Scheme) -> tuple[str, ...]:
    found = []
    for text in (statement_line.structured_reference, statement_line.remittance_text):
        for match in _DIGITS.finditer(text):
            try:
                found.append(scheme.validate(match.group()))
            except InvalidKassenzeichen:
                continue
    return tuple(dict.fromkeys(found))


def payout_references(statement_line: StatementLine) -> tuple[str, ...]:
    return tuple(_PAYOUT.findall(statement_line.remittance_text))


def decide(
    statement_line: StatementLine,
    found: Mapping[str, OpenItem],
    payouts: Mapping[str, Payout] | None = None,
) -> Decision:
    amount = statement_line.amount_cents
    seen = tuple(found)
    clearing = {"outcome": Outcome.CLEARING, "suspense_cents": amount, "candidates": seen}
    if payouts:
        payout = next(iter(payouts.values()))
        if payout.amount_cents == amount:
            return Decision(Rule.PAYOUT, Outcome.BOOKED, "Sammelauszahlung.", payout=payout)
        return Decision(Rule.PAYOUT, reason="Betrag passt nicht.", **clearing)
    if statement_line.reversal:
        return Decision(Rule.REVERSAL, reason="Rückbuchung.", **clearing)
    if amount < 0:
        return Decision(Rule.OUTGOING, reason="Ausgang.", **clearing)
    items = list(found.values())
    if not items:
        return Decision(Rule.NO_REFERENCE, reason="Kein Kassenzeichen.", **clearing)
    if len(items) == 1:
        item = items[0]
        if item.status != "open" or item.open_cents <= 0:
            return Decision(Rule.DUPLICATE, reason="Bereits bezahlt.", **clearing)
        if amount == item.open_cents:
            alloc = (Allocation(item.receivable_id, item.kassenzeichen, amount),)
            return Decision(Rule.EXACT, Outcome.BOOKED, "Passt.", alloc, candidates=seen)
        if amount < item.open_cents:
            alloc = (Allocation(item.receivable_id, item.kassenzeichen, amount),)
            return Decision(Rule.PARTIAL, Outcome.FLAGGED, "Teilzahlung.", alloc, candidates=seen)
        alloc = (Allocation(item.receivable_id, item.kassenzeichen, item.open_cents),)
        return Decision(
            Rule.OVERPAID,
            Outcome.FLAGGED,
            "Überzahlt.",
            alloc,
            suspense_cents=amount - item.open_cents,
            candidates=seen,
        )
    if all(i.status == "open" for i in items) and sum(i.open_cents for i in items) == amount:
        allocs = tuple(Allocation(i.receivable_id, i.kassenzeichen, i.open_cents) for i in items)
        return Decision(Rule.SPLIT, Outcome.BOOKED, "Mehrere.", allocs, candidates=seen)
    return Decision(Rule.AMBIGUOUS, reason="Nicht eindeutig.", **clearing)


MATCHER = services.Matcher(
    candidates=candidates, payout_references=payout_references, decide=decide
)


@pytest.fixture
def standins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in parser and matcher as the service's defaults (command, admin, task)."""
    monkeypatch.setattr(services, "default_parse", parse_json)
    monkeypatch.setattr(services, "default_matcher", lambda: MATCHER)


@pytest.fixture
def bank_account(org: Organisation) -> BankAccount:
    return BankAccount.objects.create(organisation=org, iban=IBAN, name="Sparkasse Girokonto")


def run(
    org: Organisation,
    lines: Sequence[StatementLine],
    *,
    data: bytes | None = None,
    matcher: services.Matcher = MATCHER,
    **kwargs: Any,
) -> services.ImportResult:
    return services.import_statement(
        organisation=org,
        data=data if data is not None else statement_bytes(lines),
        file_name=kwargs.pop("file_name", "auszug.xml"),
        actor=factories.ACTOR,
        parse=parse_list(lines),
        matcher=matcher,
        **kwargs,
    )


def balances(org: Organisation) -> dict[str, int]:
    return {
        account.key: balance
        for account, balance in ledger_selectors.account_balances(organisation_id=org.pk)
    }


def counts() -> dict[str, int]:
    """Everything an import writes; a refused file must leave all of it unchanged."""
    return {
        model.__name__: model.objects.count()
        for model in (
            StatementFile,
            Statement,
            LineRow,
            LineAllocation,
            JournalEntry,
            JournalLine,
            AuditEntry,
            Event,
        )
    }


# --- the shared corpus of real bank files ---------------------------------------------------
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "bank-statements"


def corpus_files(*suffixes: str) -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(path for path in CORPUS.iterdir() if path.suffix in suffixes)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("the shared bank statement corpus is not there")
    return CORPUS
