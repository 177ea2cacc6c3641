"""MT940 (SWIFT, with the German `:86:` subfields of the DFÜ agreement) via the `mt-940` package.

The package reads the tags, the `:61:` statement line and the structured `:86:` (`?00`, `?20`–
`?29` joined, `?30`–`?34`, and inside the purpose `EREF+`, `KREF+`, `MREF+`, `CRED+`, `SVWZ+`,
`ABWA+`, ...). Around it this module does what the package leaves open:

- it splits the file into statements at `:20:`, keeps each statement's transactions in a
  spooled temporary file until its closing balance is read, and hands them to the package a
  few hundred at a time, so memory does not grow with the file or the statement;
- it checks the line wraps first and names the line that breaks them: a continuation line is
  allowed after `:86:` and `:NS:` (free text) and after `:61:` (the amount or the supplementary
  details may wrap, as the corpus's Sparkasse export shows), nowhere else;
- it reads the amount itself from the `:61:` text, exactly, and requires the decimal comma
  that every MT940 amount has: "CR5" followed by a wrapped "0990,05" would otherwise become 5;
- it decodes each statement as UTF-8 and falls back to Latin-1, which every byte decodes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import mt940
import mt940.models
import mt940.tags

from rathauskasse.reconciliation.lines import StatementError, StatementInfo, StatementLine
from rathauskasse.reconciliation.parsers._common import comma_amount_cents, compact_iban

_TAG_BYTES = re.compile(rb":(\d{2}[A-Z]?|NS):")
_TAG_TEXT = re.compile(r":(\d{2}[A-Z]?|NS):")
#: One purpose line (?20 to ?28) that another purpose line follows.
_PURPOSE_LINE = re.compile(r"\?2\d([^?]*)(?=\?2[1-9])")
_PURPOSE_WIDTH = 27
#: Tags whose value may go on over several lines, and how many continuation lines each allows.
_CONTINUATIONS = {"86": None, "NS": None, "61": 2}
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
#: GVC (Geschäftsvorfallcode) of returns: 109 SEPA-Rücklastschrift, 159 SEPA-Retoure.
_RETURN_CODES = frozenset({"109", "159"})
_OPTIONS = mt940.Options.all()
# The package logs every tag it cannot match at ERROR, with its regular expression; the same
# failure reaches the caller as a StatementError naming the line, so the log would only repeat
# it in English (and, with no logging set up, on the terminal of `parse_statement`).
_PACKAGE_LOG = logging.getLogger("mt940.tags")
_PACKAGE_LOG.addHandler(logging.NullHandler())
_PACKAGE_LOG.propagate = False
_STATEMENT_TAG = mt940.tags.Statement()


_Lines = list[tuple[int, bytes]]
#: How many transactions go to the package at once: its objects for a whole statement of a
#: large account take hundreds of MB; a few hundred at a time keep memory flat.
_CHUNK = 200
#: A statement's transactions wait in memory up to this size, then in a temporary file: the
#: closing balance comes after them, and every line carries it.
_SPOOL_BYTES = 4 * 1024 * 1024


@dataclass(slots=True)
class _Block:
    """One statement (`:20:` to the next `:20:`): the statement's own tags with their line
    numbers, and its transactions (:61: with its :86:) spooled until the statement ends."""

    first_line: int
    head: _Lines = field(default_factory=list)
    tail: _Lines = field(default_factory=list)
    spool: IO[bytes] = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    )
    count: int = 0
    in_transaction: bool = False
    current: _Lines | None = None  # where a continuation line goes; None: the spool

    def add_tag(self, tag: str, number: int, line: bytes) -> None:
        if tag == "61" or (tag in {"86", "NS"} and self.in_transaction):
            self.count += tag == "61"
            self.in_transaction = True
            self.current = None
            self.spool.write(b"%d %s\n" % (number, line))
            return
        self.in_transaction = False
        self.current = self.tail if self.count else self.head
        self.current.append((number, line))

    def add_continuation(self, number: int, line: bytes) -> None:
        if self.current is None:
            self.spool.write(b"%d %s\n" % (number, line))
        else:
            self.current.append((number, line))

    def transactions(self) -> Iterator[_Lines]:
        """Each :61: with the lines that belong to it, read back from the spool."""
        self.spool.seek(0)
        group: _Lines = []
        for raw in self.spool:
            number, _, line = raw.rstrip(b"\n").partition(b" ")
            if line.startswith(b":61:") and group:
                yield group
                group = []
            group.append((int(number), line))
        if group:
            yield group

    def lines(self) -> Iterator[tuple[int, bytes]]:
        yield from self.head
        for transaction in self.transactions():
            yield from transaction
        yield from self.tail


def _line_error(number: int, message: str) -> StatementError:
    return StatementError(f"MT940, Zeile {number}: {message}", line=number)


def _shown(raw: bytes) -> str:
    text = raw.decode("latin-1")
    return text if len(text) <= 40 else text[:40] + "…"


def _blocks(stream: IO[bytes]) -> Iterator[_Block]:
    """The statements of the file, with the line wraps checked."""
    block: _Block | None = None
    tag: str | None = None
    continued = 0
    pending_colon = False
    for number, raw_line in enumerate(stream, start=1):
        line = raw_line.rstrip(b"\r\n").rstrip()
        if line.startswith(b"{"):
            # SWIFT envelope: {1:...}{2:...}{4: opens the text block, -} closes it.
            _, found, rest = line.partition(b"{4:")
            if not found:
                continue
            line = rest.strip()
        if line in {b"", b"-", b"-}", b"}"}:
            continue
        if pending_colon:
            # Some exports wrap right after the colon of a tag (":" / "86:..."); join it back.
            line = b":" + line
            pending_colon = False
        elif line == b":":
            pending_colon = True
            continue
        match = _TAG_BYTES.match(line)
        if match is not None:
            tag = match[1].decode("ascii")
            continued = 0
            if tag == "20" or block is None:
                if block is not None:
                    yield block
                block = _Block(first_line=number)
            block.add_tag(tag, number, line)
            continue
        if block is None or tag is None:
            raise _line_error(
                number, f"„{_shown(line)}“ steht vor dem ersten Feld; das ist keine MT940-Datei."
            )
        allowed = _CONTINUATIONS.get(tag, 0)
        continued += 1
        if allowed is not None and continued > allowed:
            raise _line_error(
                number,
                f"„{_shown(line)}“ setzt das Feld :{tag}: fort, das keine Folgezeile haben "
                "darf. Ist der Zeilenumbruch der Datei beschädigt?",
            )
        block.add_continuation(number, line)
    if block is not None:
        yield block


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _cents(amount: object, *, where: str) -> int:
    """A balance amount the package read (a signed Decimal) as cents, exactly."""
    value = getattr(amount, "amount", None)
    if not isinstance(value, decimal.Decimal) or not value.is_finite():
        raise StatementError(f"{where}: Der Saldo ist nicht lesbar.", where=where)
    cents = value * 100
    if cents != cents.to_integral_value():
        raise StatementError(f"{where}: Der Saldo enthält Bruchteile eines Cents.", where=where)
    return int(cents)


def _balance(data: dict[str, Any], keys: tuple[str, ...], *, where: str) -> tuple[int | None, Any]:
    for key in keys:
        balance = data.get(key)
        if isinstance(balance, mt940.models.Balance) and balance.amount:
            return _cents(balance.amount, where=where), balance.date
    return None, None


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return None


def _text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(value.split())


def _info(data: dict[str, Any], *, first_line: int) -> StatementInfo:
    where = f"MT940, Auszug ab Zeile {first_line}"
    reference = _text(data.get("transaction_reference"))
    number = _text(data.get("statement_number"))
    sequence = _text(data.get("sequence_number"))
    statement_id = "/".join(part for part in (reference, number) if part)
    if sequence:
        statement_id += f"/{sequence}"
    account = "".join(_text(data.get("account_identification")).split())
    iban = compact_iban(account) if _IBAN.fullmatch(account.upper()) else ""
    opening, opened = _balance(
        data,
        ("final_opening_balance", "opening_balance", "intermediate_opening_balance"),
        where=f"{where}, Anfangssaldo",
    )
    closing, closed = _balance(
        data,
        ("final_closing_balance", "closing_balance", "intermediate_closing_balance"),
        where=f"{where}, Schlusssaldo",
    )
    currency = ""
    for key in ("final_opening_balance", "opening_balance", "final_closing_balance"):
        balance = data.get(key)
        amount = getattr(balance, "amount", None)
        if isinstance(getattr(amount, "currency", None), str):
            currency = amount.currency.strip().upper()  # type: ignore[union-attr]
            break
    return StatementInfo(
        format="mt940",
        statement_id=statement_id,
        account_iban=iban,
        account_number="" if iban else account,
        currency=currency,
        sequence_number=number,
        from_date=_as_date(opened),
        to_date=_as_date(closed),
        opening_balance_cents=opening,
        closing_balance_cents=closing,
    )


def _signed_amount(line_number: int, value: bytes) -> tuple[int, bool]:
    """(signed cents, reversal) of a :61: value, read exactly from its text."""
    text = _decode(value)
    match = _STATEMENT_TAG.re.match(text)
    if match is None:
        raise _line_error(line_number, f"Das Feld :61: „{_shown(value)}“ ist nicht lesbar.")
    raw_amount = match["amount"] or ""
    if "," not in raw_amount:
        raise _line_error(
            line_number,
            f"Der Betrag „{raw_amount}“ im Feld :61: hat kein Dezimalkomma. "
            "Ist der Zeilenumbruch der Datei beschädigt?",
        )
    cents = comma_amount_cents(raw_amount, where=f"MT940, Zeile {line_number}")
    mark = (match["status"] or "").upper()
    # C and RD put money in, D and RC take it out; R* reverses an earlier booking.
    sign = 1 if mark in {"C", "RD"} else -1
    return sign * cents, mark.startswith("R")


def _spaced_purpose(details: str) -> str:
    """Mark where a purpose line ended short of its 27 characters.

    `?20`-`?29` are lines of 27 characters each; a text that fills a line goes on in the next
    (joined without a space: "Strukturier" + "ter"), but a shorter line ended there on purpose
    ("ABRECHNUNG" / "NR. 28"), and the package would glue the words together.
    """
    return _PURPOSE_LINE.sub(
        lambda match: match[0] + " " if len(match[1]) < _PURPOSE_WIDTH else match[0], details
    )


def _text_of(lines: Iterator[tuple[int, bytes]]) -> str:
    """Lines as the package reads them, each :86: on one line with its purpose spaced."""
    groups: list[list[str]] = []
    for _, raw in lines:
        text = _decode(raw)
        if _TAG_TEXT.match(text) or not groups:
            groups.append([text])
        else:
            groups[-1].append(text)
    out = []
    for group in groups:
        if group[0].startswith(":86:"):
            # The package joins the physical lines of :86: without a separator, too.
            out.append(":86:" + _spaced_purpose("".join(group)[4:]))
        else:
            out.extend(group)
    return "\n".join(out)


def _package_parse(block: _Block, lines: Iterator[tuple[int, bytes]]) -> mt940.models.Transactions:
    transactions = mt940.models.Transactions(options=_OPTIONS)
    try:
        transactions.parse(_text_of(lines))
    except Exception as exc:  # the package raises RuntimeError, ValueError, KeyError, ...
        raise _library_error(block, exc) from exc
    return transactions


def _statement_value(group: _Lines) -> tuple[int, bytes]:
    """(line number, text) of the :61: of one transaction, with its continuation lines."""
    number, first = group[0]
    value = first[4:]
    for _, line in group[1:]:
        if _TAG_BYTES.match(line):
            break
        value += b"\n" + line
    return number, value


def _chunks(block: _Block) -> Iterator[list[_Lines]]:
    chunk: list[_Lines] = []
    for group in block.transactions():
        chunk.append(group)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _lines_of(block: _Block) -> Iterator[StatementLine]:
    # The statement's own tags first (its closing balance is at the end of it), then its
    # transactions a chunk at a time, each with the opening tags that give their currency.
    statement = _package_parse(block, iter([*block.head, *block.tail]))
    info = _info(statement.data, first_line=block.first_line)
    index = 0
    for chunk in _chunks(block):
        parsed = _package_parse(block, iter([*block.head, *(line for tx in chunk for line in tx)]))
        if len(parsed.transactions) != len(chunk):
            raise StatementError(
                f"MT940, Auszug ab Zeile {block.first_line}: {block.count} Umsätze (:61:), "
                "aber nicht alle lesbar; die Datei ist beschädigt."
            )
        for transaction, group in zip(parsed.transactions, chunk, strict=True):
            index += 1
            amount, reversal = _signed_amount(*_statement_value(group))
            yield _line(transaction.data, info, index=index, amount=amount, reversal=reversal)


def _library_error(block: _Block, exc: Exception) -> StatementError:
    """The package's error, turned into one that names the line it stumbled over."""
    number = block.first_line
    bad = exc.args[2] if len(exc.args) > 2 and isinstance(exc.args[2], str) else ""
    if bad:
        first = bad.split("\n", 1)[0].encode("utf-8", "replace")
        for line_number, raw in block.lines():
            if first and first in raw:
                number = line_number
                break
        return _line_error(number, f"Das Feld „{bad[:60]}“ ist nicht lesbar.")
    return _line_error(number, "Der Auszug ist nicht lesbar (beschädigte MT940-Datei).")


def _line(
    data: dict[str, Any], info: StatementInfo, *, index: int, amount: int, reversal: bool
) -> StatementLine:
    value_date = _as_date(data.get("date"))
    booking_date = _as_date(data.get("entry_date")) or value_date
    code = _text(data.get("transaction_code"))
    posting_text = _text(data.get("posting_text"))
    if code in _RETURN_CODES or "RUECKLASTSCHRIFT" in posting_text.upper().replace("Ü", "UE"):
        reversal = True
    account = "".join(_text(data.get("applicant_iban")).split()).upper()
    bank = "".join(_text(data.get("applicant_bin")).split()).upper()
    extra: list[tuple[str, str]] = []
    iban = account if _IBAN.fullmatch(account) else ""
    if account and not iban:
        extra.append(("counterparty_account", account))
    bic = bank if _BIC.fullmatch(bank) else ""
    if bank and not bic:
        extra.append(("counterparty_bank_code", bank))
    # The package appends the :86: KREF to the :61: customer reference on a new line; the
    # :86: one is the whole reference, the :61: one often just its first 16 characters.
    customer = _text(str(data.get("customer_reference") or "").rsplit("\n", 1)[-1])
    customer = customer.removeprefix("KREF+").strip()
    if customer.upper() == "NONREF":
        customer = ""
    purpose = data.get("purpose")
    if purpose is None and "transaction_details" in data:
        purpose = data["transaction_details"]  # unstructured :86:
    for key, label in (
        ("prima_nota", "prima_nota"),
        ("additional_purpose", "additional_purpose"),
        ("purpose_code", "purpose_code"),
        ("extra_details", "supplementary_details"),
        ("id", "transaction_type"),
    ):
        value = _text(data.get(key))
        if value:
            extra.append((label, value))
    return StatementLine(
        statement=info,
        entry_index=index,
        transaction_index=0,
        amount_cents=amount,
        currency=_text(data.get("currency")).upper() or info.currency,
        booking_date=booking_date,
        value_date=value_date,
        reversal=reversal,
        return_reason=_text(data.get("return_debit_notes")),
        remittance_text=_text(purpose),
        end_to_end_id=_text(data.get("end_to_end_reference")),
        account_servicer_reference=_text(data.get("bank_reference")),
        customer_reference=customer,
        mandate_id=_text(data.get("additional_position_reference")),
        creditor_id=_text(data.get("applicant_creditor_id")),
        counterparty_name=_text(data.get("applicant_name")),
        counterparty_iban=iban,
        counterparty_bic=bic,
        ultimate_party_name=_text(data.get("deviate_applicant"))
        or _text(data.get("deviate_recipient")),
        bank_transaction_code=code or _text(data.get("id")),
        additional_info=posting_text,
        extra=tuple(extra),
    )


def parse_mt940(stream: IO[bytes]) -> Iterator[StatementLine]:
    """Every line of an MT940 file, statement by statement."""
    seen = False
    for block in _blocks(stream):
        seen = True
        try:
            yield from _lines_of(block)
        finally:
            block.spool.close()
    if not seen:
        raise StatementError("Die MT940-Datei enthält keinen Auszug.")
