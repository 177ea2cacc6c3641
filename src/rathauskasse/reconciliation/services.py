"""Importing bank statements and booking their lines.

Invariants kept here:
- a file is imported all or nothing: it is read completely first (`parse`), and a line the parser
  cannot read, a statement for an account that is not one of the organisation's active bank
  accounts, or one in another currency than euro refuse the whole file with a German message and
  write nothing; an accepted file is written and booked in one transaction;
- a file is imported once per organisation (SHA-256 of its bytes): the same bytes again add
  nothing and say when they came;
- a line is imported once per bank account: its `dedup_key` comes from the bank's identifiers
  (`dedup_key`), never from its content alone, and is unique per bank account; so two genuine
  identical transfers both count, and an overlapping or re-exported file adds only its new lines;
- imports of one organisation are serialised (an advisory lock on PostgreSQL, the write lock on
  SQLite), and the receivables a chunk of lines may book are locked in id order before their open
  amounts are read, as payments do: two imports, or an import and a payment, never book the same
  money twice;
- a line is booked once (one journal entry under `statement-line:<id>`) and never for more than its
  amount: the allocations and the suspense part add up to exactly the line's amount, and no
  receivable gets more than its open amount, also when several lines of one file name it (open
  amounts are tracked while the file is booked). Only booked/flagged decisions reach receivables;
  everything else is "debit Bank, credit Suspense" (or the reverse for money out) and waits in
  the clearing queue;
- a return or reversal reverses the booking of the line it returns (`ledger.services.reverse`),
  which reopens the receivable; without a clear original it waits in the clearing queue;
- a provider's payout is booked "debit Bank (and Fees), credit Provider clearing" once per payout;
- every line records its rule, outcome and German reason; receivable statuses follow the ledger
  (`receivables.services.sync_status`, which announces the paid ones); one audit entry per file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from rathauskasse.core import audit, clock, sql
from rathauskasse.core.errors import full_clean_or_fail
from rathauskasse.core.money import Money
from rathauskasse.core.tasks import enqueue
from rathauskasse.ledger import rules
from rathauskasse.ledger import services as ledger
from rathauskasse.ledger.models import EntryKind
from rathauskasse.ledger.rules import AccountRef, PostingLine
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.reconciliation import decisions, lines, matching, parsers, references
from rathauskasse.reconciliation.decisions import Allocation, Decision, OpenItem, Payout, Rule
from rathauskasse.reconciliation.models import (
    BankAccount,
    ClearingHint,
    ClearingStatus,
    FileStatus,
    LineAllocation,
    Statement,
    StatementFile,
    StatementLine,
)

Parse = Callable[[bytes], Iterable[lines.StatementLine]]

#: Lines booked per round: one look-up of open items, one posting statement per booking date.
CHUNK = 2000
#: Identifiers banks write when they have none.
_NO_IDENTIFIER = frozenset({"", "NOTPROVIDED", "NONREF", "NONE"})


@dataclass(frozen=True, slots=True)
class Matcher:
    """The pure matcher's functions (`references`, `matching`).

    `read_batch`, when given, reads a whole chunk at once; what it returns per line is handed to
    `decide` as `readings=`, and `lookup_keys` says which Kassenzeichen to look up for it (the
    readings and their twins, which the check digit cannot tell apart). Without it,
    `candidates` names what to look up and `decide` reads the line itself.
    """

    candidates: Callable[[lines.StatementLine, Scheme], Iterable[str]]
    payout_references: Callable[[lines.StatementLine], Iterable[str]]
    decide: Callable[..., Decision]
    read_batch: Callable[[Sequence[lines.StatementLine], Scheme], Sequence[Any]] | None = None
    lookup_keys: Callable[[Any], Iterable[str]] | None = None


def default_parse(data: bytes) -> Iterable[lines.StatementLine]:
    return parsers.parse(data)


def default_matcher() -> Matcher:
    return Matcher(
        candidates=references.candidates,
        payout_references=references.payout_references,
        decide=matching.decide,
        read_batch=references.batch_readings,
        lookup_keys=references.lookup_keys,
    )


class Phase(StrEnum):
    READ = "read"
    BOOK = "book"


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Phase
    done: int
    total: int  # 0 while reading: the number of lines is known only at the end


class ImportOutcome(StrEnum):
    IMPORTED = "imported"
    ALREADY_IMPORTED = "already_imported"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ImportResult:
    outcome: ImportOutcome
    file: StatementFile | None = None
    message: str = ""
    lines_total: int = 0
    lines_new: int = 0
    lines_duplicate: int = 0
    booked: int = 0
    flagged: int = 0
    clearing: int = 0
    credit_cents: int = 0
    debit_cents: int = 0
    clearing_cents: int = 0


class Rejected(Exception):
    """A file that is refused as a whole; `message` is German."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- bank accounts --------------------------------------------------------------------------------


@transaction.atomic
def create_bank_account(
    *, actor: audit.Actor, organisation: Organisation, iban: str, name: str
) -> BankAccount:
    """Add one of the organisation's bank accounts; its statements can be imported then."""
    account = BankAccount(organisation=organisation, iban=iban, name=name)
    full_clean_or_fail(account)
    account.save()
    audit.record(
        actor=actor,
        action="bank_account.created",
        obj=account,
        organisation_id=organisation.pk,
        after={"iban": account.iban, "name": account.name},
    )
    return account


# --- dedup ---------------------------------------------------------------------------------------


def _identifier(value: str) -> str:
    value = value.strip()
    return "" if value.upper() in _NO_IDENTIFIER else value


def dedup_key(line: lines.StatementLine, *, file_sha256: str = "") -> str:
    """The line's identity at its bank, in the issue's order of preference.

    The bank's reference (`AcctSvcrRef`; plus the transaction's position in a batch), else the
    payer's EndToEndId with booking date and amount, else the statement's id and the entry's
    position. A statement without an id (some CSV exports) falls back to the file's checksum:
    such a file again adds nothing, but an overlapping export of it cannot be told apart.
    """
    reference = _identifier(line.account_servicer_reference)
    if reference:
        key = f"ref:{reference}"
        if line.transaction_index:
            key += f":{line.transaction_index}"
    elif end_to_end := _identifier(line.end_to_end_id):
        day = line.booking_date.isoformat() if line.booking_date else ""
        key = f"e2e:{end_to_end}:{day}:{line.amount_cents}"
    else:
        statement = line.statement.statement_id.strip() or f"file:{file_sha256}"
        key = f"pos:{statement}:{line.entry_index}:{line.transaction_index}"
    if len(key) > 255:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


# --- accounts ------------------------------------------------------------------------------------


def account_iban(info: lines.StatementInfo) -> str:
    """The statement's IBAN; a German BLZ/account number (MT940 :25:) is turned into one."""
    if info.account_iban:
        return info.account_iban.replace(" ", "").upper()
    number = info.account_number.replace(" ", "")
    bank_code, _, account = number.partition("/")
    if bank_code.isdigit() and account.isdigit():
        try:
            return str(IBAN.generate("DE", bank_code=bank_code, account_code=account).compact)
        except SchwiftyException:
            return ""
    return ""


def _accounts(
    organisation: Organisation, infos: Iterable[lines.StatementInfo]
) -> dict[lines.StatementInfo, BankAccount]:
    by_iban = {a.iban: a for a in BankAccount.objects.filter(organisation=organisation)}
    found: dict[lines.StatementInfo, BankAccount] = {}
    for info in infos:
        iban = account_iban(info)
        shown = iban or info.account_number or "(ohne Kontonummer)"
        account = by_iban.get(iban)
        if account is None:
            raise Rejected(
                f"Der Auszug {info.statement_id or '(ohne Nummer)'} gilt für das Konto {shown}, "
                f"das kein "
                f"Bankkonto von {organisation.name} ist. Bitte legen Sie das Konto unter "
                "„Bankkonten“ an oder wählen Sie die richtige Organisation; es wurde nichts "
                "importiert."
            )
        if not account.is_active:
            raise Rejected(
                f"Das Bankkonto {account.name} ({iban}) ist nicht mehr aktiv; "
                "es wurde nichts importiert."
            )
        # No account currency in the file (some camt.054 give none): the lines must say euro.
        if info.currency.upper() not in {"EUR", ""}:
            raise Rejected(
                f"Der Auszug für {iban} ist in {info.currency} geführt; Rathauskasse bucht nur "
                "Euro. Es wurde nichts importiert."
            )
        found[info] = account
    return found


def _check_currency(read: Sequence[lines.StatementLine]) -> None:
    for line in read:
        if (line.currency or line.statement.currency).upper() != "EUR":
            shown = line.currency or "(ohne Währung)"
            raise Rejected(
                f"Buchung {line.entry_index} des Auszugs {line.statement.statement_id} ist in "
                f"{shown}; Rathauskasse bucht nur Euro. Es wurde nichts importiert."
            )


# --- import --------------------------------------------------------------------------------------


def _previous(organisation: Organisation, checksum: str) -> StatementFile | None:
    return StatementFile.objects.filter(
        organisation=organisation, sha256=checksum, status=FileStatus.IMPORTED
    ).first()


def _already(previous: StatementFile) -> ImportResult:
    when = previous.created_at.astimezone(clock.BERLIN)
    return ImportResult(
        outcome=ImportOutcome.ALREADY_IMPORTED,
        file=previous,
        message=(
            f"Diese Datei wurde bereits am {when:%d.%m.%Y um %H:%M} Uhr importiert "
            f"(„{previous.file_name}“, {previous.lines_new} Zeilen); nichts Neues."
        ),
    )


def _read(
    data: bytes, parse: Parse, progress: Callable[[Progress], None] | None
) -> list[lines.StatementLine]:
    read: list[lines.StatementLine] = []
    try:
        for line in parse(data):
            read.append(line)
            if progress is not None and len(read) % CHUNK == 0:
                progress(Progress(Phase.READ, len(read), 0))
    except lines.StatementError as exc:
        raise Rejected(
            f"Die Datei ist kein lesbarer Kontoauszug: {exc.message} Es wurde nichts importiert."
        ) from exc
    return read


def import_statement(
    *,
    organisation: Organisation,
    data: bytes,
    file_name: str,
    actor: audit.Actor,
    parse: Parse | None = None,
    matcher: Matcher | None = None,
    progress: Callable[[Progress], None] | None = None,
    record: StatementFile | None = None,
) -> ImportResult:
    """Import one statement file and book its new lines; all or nothing.

    `record` is the upload's `StatementFile` when the import runs as a background task; it ends
    imported, duplicate or rejected. Without it a record is created only for an imported file.
    """
    checksum = hashlib.sha256(data).hexdigest()
    previous = _previous(organisation, checksum)
    if previous is not None:
        return _already(previous)
    try:
        read = _read(data, parse or default_parse, progress)
        accounts = _accounts(organisation, dict.fromkeys(line.statement for line in read))
        _check_currency(read)
    except Rejected as exc:
        return ImportResult(outcome=ImportOutcome.REJECTED, message=exc.message)
    return _write(
        organisation=organisation,
        read=read,
        accounts=accounts,
        data=data,
        checksum=checksum,
        file_name=file_name,
        actor=actor,
        matcher=matcher or default_matcher(),
        progress=progress,
        record=record,
    )


def _serialise(organisation: Organisation) -> None:
    """One statement import per organisation at a time (PostgreSQL; SQLite locks at BEGIN).

    The second finds the first's lines (and file) and adds only what is new; without this both
    would book the same lines until the unique key refused the later one as a whole.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"statement-import:{organisation.pk}"],
            )


def _existing_keys(account: BankAccount, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 5000):
        found.update(
            StatementLine.objects.filter(
                bank_account=account, dedup_key__in=keys[start : start + 5000]
            ).values_list("dedup_key", flat=True)
        )
    return found


_RECORD_FIELDS = (
    "file_name",
    "sha256",
    "size_bytes",
    "format",
    "status",
    "message",
    "finished_at",
    "progress_done",
    "progress_total",
    "lines_new",
    "lines_duplicate",
    "lines_booked",
    "lines_flagged",
    "lines_clearing",
    "credit_cents",
    "debit_cents",
    "clearing_cents",
)


@transaction.atomic
def _write(
    *,
    organisation: Organisation,
    read: list[lines.StatementLine],
    accounts: dict[lines.StatementInfo, BankAccount],
    data: bytes,
    checksum: str,
    file_name: str,
    actor: audit.Actor,
    matcher: Matcher,
    progress: Callable[[Progress], None] | None,
    record: StatementFile | None,
) -> ImportResult:
    _serialise(organisation)
    previous = _previous(organisation, checksum)
    if previous is not None:
        return _already(previous)
    now = clock.now()
    formats = sorted({info.format for info in accounts})
    fresh_record = record is None
    if record is None:
        record = StatementFile(
            organisation=organisation, content=b"", created_at=now, actor_label=actor.label
        )
    record.file_name = file_name[:255]
    record.sha256 = checksum
    record.size_bytes = len(data)
    record.format = ", ".join(formats)[:40]
    record.status = FileStatus.IMPORTED
    record.finished_at = now
    if fresh_record:
        record.save()
    # An upload's row is saved at the end: until then the background task's progress reports
    # update it from another connection, which a row lock of ours would block.
    statements = {
        info: Statement.objects.create(
            organisation=organisation,
            file=record,
            bank_account=account,
            format=info.format[:40],
            statement_id=info.statement_id[:100],
            sequence_number=info.sequence_number[:40],
            created_at=_aware(info.created_at),
            from_date=info.from_date,
            to_date=info.to_date,
            opening_balance_cents=info.opening_balance_cents,
            closing_balance_cents=info.closing_balance_cents,
            lines_total=0,
            imported_at=now,
            actor_label=actor.label,
        )
        for info, account in accounts.items()
    }

    # New lines: not seen in this file before, not imported for the account before.
    keyed = [(line, dedup_key(line, file_sha256=checksum)) for line in read]
    by_account: dict[int, list[str]] = defaultdict(list)
    for line, key in keyed:
        by_account[accounts[line.statement].pk].append(key)
    known = {
        account.pk: _existing_keys(account, by_account[account.pk])
        for account in set(accounts.values())
    }
    new: list[tuple[lines.StatementLine, str]] = []
    per_statement: dict[lines.StatementInfo, list[int]] = defaultdict(lambda: [0, 0])
    for line, key in keyed:
        account_keys = known[accounts[line.statement].pk]
        per_statement[line.statement][0] += 1
        if key in account_keys:
            continue
        account_keys.add(key)
        per_statement[line.statement][1] += 1
        new.append((line, key))

    booking = _Booking(
        organisation=organisation,
        accounts=accounts,
        statements=statements,
        matcher=matcher,
        actor=actor,
    )
    for start in range(0, len(new), CHUNK):
        booking.book(new[start : start + CHUNK])
        if progress is not None:
            progress(Progress(Phase.BOOK, min(start + CHUNK, len(new)), len(new)))

    for info, statement in statements.items():
        total, fresh = per_statement[info]
        Statement.objects.filter(pk=statement.pk).update(lines_total=total, lines_new=fresh)
    counts = booking.counts
    record.lines_new = len(new)
    record.lines_duplicate = len(read) - len(new)
    record.lines_booked = counts.booked
    record.lines_flagged = counts.flagged
    record.lines_clearing = counts.clearing
    record.credit_cents = counts.credit_cents
    record.debit_cents = counts.debit_cents
    record.clearing_cents = counts.clearing_cents
    record.progress_done = record.progress_total = len(new)
    record.message = ""
    # Not the upload's bytes again: they stay as they came.
    record.save(update_fields=_RECORD_FIELDS)
    result = ImportResult(
        outcome=ImportOutcome.IMPORTED,
        file=record,
        lines_total=len(read),
        lines_new=len(new),
        lines_duplicate=len(read) - len(new),
        booked=counts.booked,
        flagged=counts.flagged,
        clearing=counts.clearing,
        credit_cents=counts.credit_cents,
        debit_cents=counts.debit_cents,
        clearing_cents=counts.clearing_cents,
    )
    audit.record(
        actor=actor,
        action="statement_file.imported",
        obj=record,
        organisation_id=organisation.pk,
        after={
            "file_name": record.file_name,
            "sha256": checksum,
            "statements": [s.pk for s in statements.values()],
            "lines_total": len(read),
            "lines_new": len(new),
            "booked": counts.booked,
            "flagged": counts.flagged,
            "clearing": counts.clearing,
            "reversed": counts.reversed,
            "credit_cents": counts.credit_cents,
            "debit_cents": counts.debit_cents,
            "clearing_cents": counts.clearing_cents,
        },
    )
    return replace(result, message=describe(result))


# --- uploads (background task) -------------------------------------------------------------------

FAILED_MESSAGE = (
    "Beim Import ist ein technischer Fehler aufgetreten; es wurde nichts gebucht. Bitte "
    "versuchen Sie es später noch einmal oder wenden Sie sich an den Betrieb."
)


@transaction.atomic
def upload_statement(
    *, organisation: Organisation, data: bytes, file_name: str, actor: audit.Actor
) -> StatementFile:
    """Keep an uploaded file and queue its import (`tasks.import_statement_file`)."""
    from rathauskasse.reconciliation import tasks  # noqa: PLC0415 - tasks import this module

    record = StatementFile.objects.create(
        organisation=organisation,
        file_name=file_name[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        content=data,
        status=FileStatus.QUEUED,
        actor_label=actor.label,
        uploaded_by_id=actor.user_id,
        created_at=clock.now(),
    )
    audit.record(
        actor=actor,
        action="statement_file.uploaded",
        obj=record,
        organisation_id=organisation.pk,
        after={"file_name": record.file_name, "sha256": record.sha256, "size": len(data)},
    )
    enqueue(tasks.import_statement_file, record.pk)
    return record


def progress_recorder(file_id: int) -> Callable[[Progress], None]:
    """Progress reports that the upload page can see while the import's transaction runs.

    Inside that transaction they go through a connection of their own (PostgreSQL). SQLite has
    one writer at a time, so there only the reading phase is shown, the booking as a whole.
    """

    def record(progress: Progress) -> None:
        values = [progress.done, progress.total, file_id]
        statement = (
            f"UPDATE {connection.ops.quote_name(StatementFile._meta.db_table)} "  # noqa: S608
            "SET progress_done = %s, progress_total = %s WHERE id = %s"
        )
        if not connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute(statement, values)
            return
        if connection.vendor != "postgresql":
            return
        side = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with side.cursor() as cursor:
                cursor.execute(statement, values)
        finally:
            side.close()

    return record


def import_upload(
    *, file_id: int, parse: Parse | None = None, matcher: Matcher | None = None
) -> ImportResult | None:
    """Import a queued upload (the background task); None when it is not queued (any more)."""
    taken = StatementFile.objects.filter(pk=file_id, status=FileStatus.QUEUED).update(
        status=FileStatus.RUNNING, progress_done=0, progress_total=0
    )
    if not taken:
        return None
    record = StatementFile.objects.select_related("organisation").get(pk=file_id)
    actor = audit.Actor(label=record.actor_label, user_id=record.uploaded_by_id)
    try:
        result = import_statement(
            organisation=record.organisation,
            data=bytes(record.content),
            file_name=record.file_name,
            actor=actor,
            parse=parse,
            matcher=matcher,
            progress=progress_recorder(file_id),
            record=record,
        )
    except Exception:
        StatementFile.objects.filter(pk=file_id).update(
            status=FileStatus.FAILED, message=FAILED_MESSAGE, finished_at=clock.now()
        )
        raise
    if result.outcome != ImportOutcome.IMPORTED:
        status = (
            FileStatus.REJECTED
            if result.outcome == ImportOutcome.REJECTED
            else FileStatus.DUPLICATE
        )
        StatementFile.objects.filter(pk=file_id).update(
            status=status, message=result.message, finished_at=clock.now()
        )
    return result


# --- booking -------------------------------------------------------------------------------------


@dataclass
class _Counts:
    booked: int = 0
    flagged: int = 0
    clearing: int = 0
    reversed: int = 0
    credit_cents: int = 0
    debit_cents: int = 0
    clearing_cents: int = 0


@dataclass
class _Plan:
    """What is written for one line: its row, its posting, its allocations."""

    line_id: int
    line: lines.StatementLine
    key: str
    decision: Decision
    clearing_status: ClearingStatus
    posting: list[PostingLine] = field(default_factory=list)
    allocations: list[tuple[int, int]] = field(default_factory=list)
    journal_entry_id: int | None = None
    reverses_id: int | None = None
    hints: list[int] = field(default_factory=list)
    payout_provider: str = ""
    payout_reference: str = ""


def _clearing(decision: Decision, line: lines.StatementLine, reason: str = "") -> Decision:
    """The decision turned into "wait in the clearing queue", everything to suspense."""
    return replace(
        decision,
        outcome=decisions.Outcome.CLEARING,
        reason=reason or decision.reason,
        allocations=(),
        suspense_cents=line.amount_cents,
        payout=None,
    )


class _Booking:
    """Books the new lines of one file, chunk by chunk, inside the import's transaction."""

    def __init__(
        self,
        *,
        organisation: Organisation,
        accounts: Mapping[lines.StatementInfo, BankAccount],
        statements: Mapping[lines.StatementInfo, Statement],
        matcher: Matcher,
        actor: audit.Actor,
    ) -> None:
        self.organisation = organisation
        self.accounts = accounts
        self.statements = statements
        self.matcher = matcher
        self.actor = actor
        self.scheme = Scheme.of(organisation)
        self.counts = _Counts()
        #: Open amount and status per receivable as booked so far in this file.
        self.open_now: dict[int, int] = {}
        self.status_now: dict[int, str] = {}
        self.payouts_used: set[tuple[str, str]] = set()
        self.originals_used: set[int] = set()

    # The receivables of a chunk are locked before their open amounts are read; amounts booked
    # by earlier chunks of this file are in the ledger already, so a fresh read is right.
    def _open_items(self, candidates: Iterable[str]) -> dict[str, OpenItem]:
        rows = receivable_selectors.open_items(
            organisation=self.organisation, kassenzeichen=candidates, lock=True
        )
        for row in rows.values():
            self.open_now[row.receivable_id] = row.open_cents
            self.status_now[row.receivable_id] = row.status
        return {
            kz: OpenItem(
                receivable_id=row.receivable_id,
                kassenzeichen=kz,
                open_cents=row.open_cents,
                status=row.status,
                debtor_name=row.debtor_name,
                due_date=row.due_date,
                total_cents=row.total_cents,
            )
            for kz, row in rows.items()
        }

    def book(self, chunk: Sequence[tuple[lines.StatementLine, str]]) -> None:
        ids = sql.reserve_ids(StatementLine, len(chunk))
        matcher = self.matcher
        extra: list[dict[str, Any]]
        if matcher.read_batch is not None and matcher.lookup_keys is not None:
            read = matcher.read_batch([line for line, _ in chunk], self.scheme)
            candidates = [tuple(matcher.lookup_keys(found)) for found in read]
            extra = [{"readings": found} for found in read]
        else:
            candidates = [tuple(matcher.candidates(line, self.scheme)) for line, _ in chunk]
            extra = [{}] * len(chunk)
        payout_refs = [tuple(matcher.payout_references(line)) for line, _ in chunk]
        items = self._open_items(kz for found in candidates for kz in found)
        payouts = payment_selectors.find_payouts(
            organisation_id=self.organisation.pk,
            references=[ref for found in payout_refs for ref in found],
        )
        booked_before = set(
            StatementLine.objects.filter(
                organisation=self.organisation, payout_reference__in=list(payouts)
            ).values_list("payout_provider", "payout_reference")
        )
        self.payouts_used |= booked_before
        plans: list[_Plan] = []
        touched: set[int] = set()
        for line_id, (line, key), found, refs, more in zip(
            ids, chunk, candidates, payout_refs, extra, strict=True
        ):
            current = {
                kz: replace(
                    items[kz],
                    open_cents=self.open_now[items[kz].receivable_id],
                    status=self.status_now[items[kz].receivable_id],
                )
                for kz in found
                if kz in items
            }
            offered = {
                ref: Payout(
                    payout_id=0,
                    provider=payouts[ref].provider,
                    reference=ref,
                    amount_cents=payouts[ref].amount_cents,
                )
                for ref in refs
                if ref in payouts and (payouts[ref].provider, ref) not in self.payouts_used
            }
            decision = matcher.decide(line, current, payouts=offered, **more)
            if not decision.candidates and found:
                decision = replace(decision, candidates=found)
            plan = self._plan(
                line_id=line_id,
                line=line,
                key=key,
                decision=decision,
                current=current,
                payouts=payouts,
                touched=touched,
            )
            plans.append(plan)
        self._write(plans)
        # Not `locked`: a return reopens receivables this chunk's look-up did not lock.
        receivable_services.sync_status(
            organisation_id=self.organisation.pk, receivable_ids=sorted(touched)
        )

    def _plan(
        self,
        *,
        line_id: int,
        line: lines.StatementLine,
        key: str,
        decision: Decision,
        current: Mapping[str, OpenItem],
        payouts: Mapping[str, payment_selectors.ProviderPayout],
        touched: set[int],
    ) -> _Plan:
        bank = self.accounts[line.statement].ledger_account
        if line.reversal or decision.rule == Rule.REVERSAL:
            return self._reverse(
                line_id=line_id,
                line=line,
                key=key,
                decision=decision,
                bank=bank,
                touched=touched,
            )
        if decision.rule == Rule.PAYOUT and decision.outcome != decisions.Outcome.CLEARING:
            plan = self._payout(
                line_id=line_id,
                line=line,
                key=key,
                decision=decision,
                bank=bank,
                payouts=payouts,
            )
            if plan is not None:
                return plan
            decision = _clearing(
                decision,
                line,
                "Die Sammelauszahlung passt nicht zum Bericht des Zahlungsdienstes oder ist "
                "bereits gebucht; bitte klären.",
            )
        decision = self._checked(line, decision, current)
        plan = _Plan(
            line_id=line_id,
            line=line,
            key=key,
            decision=decision,
            clearing_status=_status_of(decision),
        )
        if decision.outcome == decisions.Outcome.CLEARING:
            plan.hints = sorted({item.receivable_id for item in current.values()})
        for allocation in decision.allocations:
            self.open_now[allocation.receivable_id] -= allocation.amount_cents
            if self.open_now[allocation.receivable_id] <= 0:
                self.status_now[allocation.receivable_id] = "paid"
            touched.add(allocation.receivable_id)
            plan.allocations.append((allocation.receivable_id, allocation.amount_cents))
        if line.amount_cents:
            plan.posting = rules.bank_line(
                bank=bank,
                amount_cents=line.amount_cents,
                allocations=plan.allocations,
                suspense_cents=decision.suspense_cents,
            )
        return plan

    def _checked(
        self, line: lines.StatementLine, decision: Decision, current: Mapping[str, OpenItem]
    ) -> Decision:
        """The matcher's decision, or clearing if booking it would break an invariant."""
        if decision.outcome == decisions.Outcome.CLEARING or not decision.allocations:
            # Nothing for a receivable: all of it to suspense, waiting in the clearing queue.
            if decision.outcome != decisions.Outcome.CLEARING or (
                decision.suspense_cents != line.amount_cents or decision.allocations
            ):
                return _clearing(decision, line)
            return decision
        problem = ""
        if line.amount_cents <= 0:
            problem = "Ein Ausgang wird keiner Forderung zugeordnet."
        elif decision.allocated_cents + decision.suspense_cents != line.amount_cents:
            problem = "Die Zuordnung ergibt nicht den Betrag der Zeile."
        elif decision.suspense_cents < 0:
            problem = "Die Zuordnung ist höher als der Betrag der Zeile."
        # Only what the line names and this chunk has locked may be booked.
        offered = {item.receivable_id for item in current.values()}
        seen: set[int] = set()
        for allocation in decision.allocations:
            rid = allocation.receivable_id
            if problem:
                break
            if allocation.amount_cents <= 0 or rid in seen:
                problem = "Die Zuordnung enthält einen ungültigen Betrag."
            elif rid not in offered or self.status_now[rid] != "open":
                problem = (
                    f"Die Forderung {allocation.kassenzeichen} ist nicht mehr offen "
                    "(zum Beispiel durch eine frühere Zeile dieser Datei)."
                )
            elif allocation.amount_cents > self.open_now[rid]:
                problem = (
                    f"Für die Forderung {allocation.kassenzeichen} sind nur noch "
                    f"{_euro(self.open_now[rid])} offen."
                )
            seen.add(rid)
        if problem:
            return _clearing(
                decision,
                line,
                f"Nicht automatisch gebucht: {problem} Bitte klären.",
            )
        return decision

    def _payout(
        self,
        *,
        line_id: int,
        line: lines.StatementLine,
        key: str,
        decision: Decision,
        bank: AccountRef,
        payouts: Mapping[str, payment_selectors.ProviderPayout],
    ) -> _Plan | None:
        offered = decision.payout
        if offered is None or offered.reference not in payouts:
            return None
        payout = payouts[offered.reference]
        marker = (payout.provider, payout.reference)
        if marker in self.payouts_used or payout.amount_cents != line.amount_cents:
            return None
        self.payouts_used.add(marker)
        return _Plan(
            line_id=line_id,
            line=line,
            key=key,
            decision=replace(decision, allocations=(), suspense_cents=0),
            clearing_status=_status_of(decision),
            posting=rules.provider_payout(
                bank=bank,
                provider=payout.provider,
                amount_cents=payout.amount_cents,
                fee_cents=payout.fee_cents,
            ),
            payout_provider=payout.provider,
            payout_reference=payout.reference,
        )

    def _reverse(
        self,
        *,
        line_id: int,
        line: lines.StatementLine,
        key: str,
        decision: Decision,
        bank: AccountRef,
        touched: set[int],
    ) -> _Plan:
        """Reverse the booking of the line this one returns; reopen what it had paid."""
        account = self.accounts[line.statement]
        original = _original_of(account, line, exclude=self.originals_used)
        if original is None or original.journal_entry is None:
            decision = Decision(
                rule=Rule.REVERSAL,
                outcome=decisions.Outcome.CLEARING,
                reason=(
                    "Rückbuchung oder Storno, zu der keine frühere Buchung mit gleicher "
                    "Ende-zu-Ende-Referenz oder Mandatsreferenz und gleichem Betrag gefunden "
                    "wurde; bitte klären."
                ),
                suspense_cents=line.amount_cents,
                candidates=decision.candidates,
            )
            return _Plan(
                line_id=line_id,
                line=line,
                key=key,
                decision=decision,
                clearing_status=ClearingStatus.OPEN,
                posting=rules.bank_line(
                    bank=bank,
                    amount_cents=line.amount_cents,
                    allocations=(),
                    suspense_cents=line.amount_cents,
                ),
            )
        self.originals_used.add(original.pk)
        day = original.booking_date.strftime("%d.%m.%Y") if original.booking_date else "?"
        text = f"Rückbuchung {line.return_reason or ''} der Bankbuchung vom {day}".replace(
            "  ", " "
        )
        reversal = ledger.reverse(
            entry=original.journal_entry,
            text=text,
            actor=self.actor,
            booking_date=line.booking_date,
        )
        allocations = list(
            LineAllocation.objects.filter(line=original).values_list(
                "receivable_id", "amount_cents"
            )
        )
        for receivable_id, cents in allocations:
            self.open_now[receivable_id] = self.open_now.get(receivable_id, 0) + cents
            self.status_now[receivable_id] = "open"
            touched.add(receivable_id)
        charges = -line.amount_cents - original.amount_cents
        if charges > 0:
            # The bank took its return fee from the account as well: that part is a cost.
            ledger.post(
                organisation_id=self.organisation.pk,
                kind=EntryKind.BANK_STATEMENT,
                text=f"Rücklastschriftentgelt zur Bankbuchung vom {day}",
                lines=[
                    PostingLine(bank, -charges),
                    PostingLine(rules.fees("bank"), charges),
                ],
                idempotency_key=f"statement-line:{line_id}:charges",
                reference=f"statement-line:{line_id}",
                actor=self.actor,
                booking_date=line.booking_date,
                assume_new=True,
            )
        StatementLine.objects.filter(pk=original.pk).update(clearing_status=ClearingStatus.RETURNED)
        kassenzeichen = ", ".join(
            self.scheme.display(kz) for kz in original.candidates if isinstance(kz, str)
        )
        reason = f"Rückbuchung der Bankbuchung vom {day} über {_euro(original.amount_cents)}"
        reason += f" ({line.return_reason})" if line.return_reason else ""
        reason += (
            f"; die Forderung {kassenzeichen} ist wieder offen." if allocations else "; storniert."
        )
        if charges > 0:
            reason += f" Entgelt der Bank: {_euro(charges)}."
        plan = _Plan(
            line_id=line_id,
            line=line,
            key=key,
            decision=Decision(
                rule=Rule.REVERSAL,
                outcome=decisions.Outcome.FLAGGED,
                reason=reason,
                allocations=tuple(
                    Allocation(receivable_id=rid, kassenzeichen="", amount_cents=cents)
                    for rid, cents in allocations
                ),
                candidates=tuple(str(kz) for kz in original.candidates),
            ),
            clearing_status=ClearingStatus.REVIEW,
            journal_entry_id=reversal.pk,
            reverses_id=original.pk,
        )
        plan.allocations = [(rid, -cents) for rid, cents in allocations]
        return plan

    def _write(self, plans: list[_Plan]) -> None:
        by_day: dict[dt.date | None, list[_Plan]] = defaultdict(list)
        for plan in plans:
            if plan.posting:
                by_day[plan.line.booking_date].append(plan)
        for day, dated in by_day.items():
            entry_ids = ledger.post_many(
                organisation_id=self.organisation.pk,
                entries=[_entry(plan, self.scheme) for plan in dated],
                actor=self.actor,
                booking_date=day,
            )
            for plan, entry_id in zip(dated, entry_ids, strict=True):
                plan.journal_entry_id = entry_id
        sql.copy_rows(StatementLine, _LINE_COLUMNS, (self._row(plan) for plan in plans))
        sql.copy_rows(
            LineAllocation,
            ("line_id", "receivable_id", "amount_cents", "journal_entry_id"),
            (
                (plan.line_id, rid, cents, plan.journal_entry_id)
                for plan in plans
                for rid, cents in plan.allocations
            ),
        )
        hints = [(plan.line_id, rid) for plan in plans for rid in plan.hints]
        if hints:
            sql.copy_rows(ClearingHint, ("line_id", "receivable_id"), hints)

    def _row(self, plan: _Plan) -> tuple[Any, ...]:
        line, decision = plan.line, plan.decision
        self._count(line, decision)
        return (
            plan.line_id,
            self.organisation.pk,
            self.statements[line.statement].pk,
            self.accounts[line.statement].pk,
            plan.key,
            line.entry_index,
            line.transaction_index,
            line.amount_cents,
            line.currency[:3] or "EUR",
            line.booking_date,
            line.value_date,
            line.reversal,
            line.return_reason[:35],
            line.charges_cents,
            line.remittance_text,
            line.structured_reference[:35],
            line.end_to_end_id[:35],
            line.account_servicer_reference[:100],
            line.entry_reference[:100],
            line.customer_reference[:100],
            line.mandate_id[:35],
            line.creditor_id[:35],
            line.counterparty_name[:140],
            line.counterparty_iban[:34],
            line.counterparty_bic[:11],
            line.ultimate_party_name[:140],
            line.bank_transaction_code[:40],
            line.batch,
            line.batch_count,
            line.additional_info,
            dict(line.extra),
            str(decision.rule),
            str(decision.outcome),
            decision.reason,
            list(decision.candidates),
            decision.suspense_cents,
            str(plan.clearing_status),
            plan.payout_provider,
            plan.payout_reference,
            plan.journal_entry_id,
            plan.reverses_id,
        )

    def _count(self, line: lines.StatementLine, decision: Decision) -> None:
        counts = self.counts
        if line.amount_cents > 0:
            counts.credit_cents += line.amount_cents
        else:
            counts.debit_cents += -line.amount_cents
        if decision.rule == Rule.REVERSAL and decision.outcome != decisions.Outcome.CLEARING:
            counts.reversed += 1
        if decision.outcome == decisions.Outcome.BOOKED:
            counts.booked += 1
        elif decision.outcome == decisions.Outcome.FLAGGED:
            counts.flagged += 1
        else:
            counts.clearing += 1
            counts.clearing_cents += decision.suspense_cents


_LINE_COLUMNS = (
    "id",
    "organisation_id",
    "statement_id",
    "bank_account_id",
    "dedup_key",
    "entry_index",
    "transaction_index",
    "amount_cents",
    "currency",
    "booking_date",
    "value_date",
    "reversal",
    "return_reason",
    "charges_cents",
    "remittance_text",
    "structured_reference",
    "end_to_end_id",
    "account_servicer_reference",
    "entry_reference",
    "customer_reference",
    "mandate_id",
    "creditor_id",
    "counterparty_name",
    "counterparty_iban",
    "counterparty_bic",
    "ultimate_party_name",
    "bank_transaction_code",
    "batch",
    "batch_count",
    "additional_info",
    "extra",
    "rule",
    "outcome",
    "reason",
    "candidates",
    "suspense_cents",
    "clearing_status",
    "payout_provider",
    "payout_reference",
    "journal_entry_id",
    "reverses_id",
)


def _status_of(decision: Decision) -> ClearingStatus:
    if decision.outcome == decisions.Outcome.CLEARING:
        return ClearingStatus.OPEN
    if decision.outcome == decisions.Outcome.FLAGGED:
        return ClearingStatus.REVIEW
    return ClearingStatus.NONE


def _entry(plan: _Plan, scheme: Scheme) -> ledger.NewEntry:
    line, decision = plan.line, plan.decision
    who = line.counterparty_name or line.ultimate_party_name
    if plan.payout_reference:
        what = f"Auszahlung {plan.payout_provider} {plan.payout_reference}"
    elif decision.allocations:
        what = "Zahlung " + ", ".join(scheme.display(a.kassenzeichen) for a in decision.allocations)
    elif line.amount_cents < 0:
        what = "Ausgang ungeklärt"
    else:
        what = "Eingang ungeklärt"
    return ledger.NewEntry(
        kind=EntryKind.BANK_STATEMENT,
        text=f"{what} {who}".strip(),
        lines=plan.posting,
        idempotency_key=f"statement-line:{plan.line_id}",
        reference=f"statement-line:{plan.line_id}",
    )


def _original_of(
    account: BankAccount, line: lines.StatementLine, *, exclude: set[int]
) -> StatementLine | None:
    """The earlier line of the account that `line` returns: same EndToEndId, or same mandate,
    and the amount it returns (plus the bank's return fee, if any); the newest one not returned.
    """
    end_to_end = _identifier(line.end_to_end_id)
    mandate = _identifier(line.mandate_id)
    if not (end_to_end or mandate):
        return None
    returned = -line.amount_cents
    amounts = {returned, returned - line.charges_cents} if line.charges_cents else {returned}
    lines_of = StatementLine.objects.filter(
        bank_account=account, reversal=False, amount_cents__in=amounts
    ).exclude(clearing_status=ClearingStatus.RETURNED)
    if exclude:
        lines_of = lines_of.exclude(pk__in=exclude)
    if end_to_end:
        lines_of = lines_of.filter(end_to_end_id=end_to_end)
    else:
        lines_of = lines_of.filter(mandate_id=mandate)
    return lines_of.select_related("journal_entry").order_by("-booking_date", "-id").first()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A bank's creation time without a zone is German time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=clock.BERLIN)


def _euro(cents: int) -> str:
    return Money(cents).format_de().replace("\u00a0", " ")


def describe(result: ImportResult) -> str:
    """One German sentence saying what an import did (the CLI's and the admin's summary)."""
    if result.outcome != ImportOutcome.IMPORTED:
        return result.message
    return (
        f"{result.lines_total} Zeilen gelesen, {result.lines_new} neu"
        f"{f', {result.lines_duplicate} bereits importiert' if result.lines_duplicate else ''}: "
        f"{result.booked} gebucht, {result.flagged} gebucht und zu prüfen, "
        f"{result.clearing} in der Klärung. Eingänge {_euro(result.credit_cents)}, "
        f"Ausgänge {_euro(result.debit_cents)}, davon ungeklärt {_euro(result.clearing_cents)}."
    )


def under_clearing_ids(organisation_id: int, receivable_ids: list[int]) -> set[int]:
    """Of `receivable_ids`, those a bank line in the clearing queue names (a `receivables.
    clearing` check): money for them may be on the account already."""
    return set(
        ClearingHint.objects.filter(
            line__organisation_id=organisation_id,
            line__clearing_status=ClearingStatus.OPEN,
            receivable_id__in=receivable_ids,
        ).values_list("receivable_id", flat=True)
    )
