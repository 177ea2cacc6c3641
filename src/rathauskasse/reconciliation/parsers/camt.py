"""camt.052, camt.053 and camt.054 (versions .001.02 to .001.13), streamed with lxml.

The element names these parsers read are the same in every version; where a version moved a
value (`Sts` became `Sts/Cd`, a party `Nm` became `Pty/Nm`, `BIC` became `BICFI`, `TxDtls/Amt`
joined `AmtDtls/TxAmt/Amt`) both places are read. Names are matched on their local part, so a
file without a default namespace (the Bundesbank's samples declare only a prefix they never
use) parses like any other.

Memory stays flat: each `Ntry` is turned into lines when it ends and then dropped from the tree.
The parser never expands entities, never loads a DTD and never touches the network; a DOCTYPE is
refused before libxml2 sees it, so that neither a billion-laughs file nor an XXE attempt gets
anywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from lxml import etree

from rathauskasse.reconciliation.lines import StatementError, StatementInfo, StatementLine
from rathauskasse.reconciliation.parsers._common import (
    compact_iban,
    iso_amount_cents,
    iso_date,
    iso_datetime,
)

_CHUNK = 1 << 16
_STATEMENT_TAGS = frozenset({"Stmt", "Rpt", "Ntfctn"})
#: Parts of an entry no line field comes from; the index does not descend into them.
_UNREAD = frozenset(
    {"PstlAdr", "RltdDts", "RltdPric", "RltdQties", "Tax", "FinInstrmId", "CorpActn", "CardTx",
     "SfkpgAcct", "CshDpst", "RfrdDocInf", "RfrdDocAmt", "Purp", "InstdAmt", "CcyXchg", "CtctDtls",
     "RltdAcct", "TechInptChanl", "Intrst", "NtryDtlsAddtlInf", "AddtlInfInd"}
)  # fmt: skip
_MESSAGE_FORMATS = {
    "BkToCstmrAcctRpt": "camt.052",
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
}
_VERSION = re.compile(r"camt\.05[234]\.001\.\d{2}")
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype", b"<!entity")
_OVERLAP = max(len(marker) for marker in _FORBIDDEN) - 1

Element = etree._Element


def _local(tag: object) -> str:
    if not isinstance(tag, str):  # comments and processing instructions
        return ""
    return tag.rpartition("}")[2]


def _child(elem: Element | None, *path: str) -> Element | None:
    """The first element along `path` (local names, any namespace), or None."""
    for name in path:
        if elem is None:
            return None
        # lxml matches "{*}name" in C, in any namespace and in none.
        elem = next(elem.iterchildren(_ANY_NS[name]), None)
    return elem


def _children(elem: Element | None, name: str) -> list[Element]:
    if elem is None:
        return []
    return list(elem.iterchildren(_ANY_NS[name]))


def _text(elem: Element | None, *path: str) -> str:
    found = _child(elem, *path)
    if found is None:
        return ""
    text = found.text
    if not text:
        return ""
    return " ".join(text.split())


class _AnyNamespace(dict[str, str]):
    def __missing__(self, name: str) -> str:
        self[name] = value = "{*}" + name
        return value


_ANY_NS = _AnyNamespace()


def _party_paths(party: str) -> tuple[str, str, str]:
    # .001.08 and later wrap the party in Pty (or Agt for a bank).
    return (f"{party}/Nm", f"{party}/Pty/Nm", f"{party}/Agt/FinInstnId/Nm")


@dataclass(frozen=True, slots=True)
class _Side:
    """The paths of one side of a transaction (the debtor's or the creditor's), built once."""

    name: tuple[str, str, str]
    iban: str
    bic: tuple[str, str]
    ultimate_party: str
    ultimate: tuple[str, str, str]
    iban_key: str  # the extra key when this side is the account holder's own


def _side(role: str) -> _Side:
    agent = f"RltdAgts/{role}Agt/FinInstnId"
    return _Side(
        name=_party_paths(f"RltdPties/{role}"),
        iban=f"RltdPties/{role}Acct/Id/IBAN",
        bic=(f"{agent}/BICFI", f"{agent}/BIC"),
        ultimate_party=f"RltdPties/Ultmt{role}",
        ultimate=_party_paths(f"RltdPties/Ultmt{role}"),
        iban_key=f"{role.lower()}_iban",
    )


_DEBTOR, _CREDITOR = _side("Dbtr"), _side("Cdtr")


#: How many (parent path, tag) steps the walk remembers; a normal file needs a few dozen, and
#: the cap keeps a file full of invented element names from growing the cache without end.
_MAX_STEPS = 4096


class _Steps(dict[object, "tuple[str, _Steps | None, bool] | None"]):
    """Where a walk goes from one parent path, by child tag: the child's path, and the steps
    below it (None where the walk does not descend), and whether every element there is kept
    or only the first; a step of None skips the element.

    lxml hands out a new tag string for every element; splitting it and joining paths for each
    of them was the largest part of the parser's time, so each (parent path, tag) is worked out
    once. The steps are shared by all parses; what they hold depends only on the tags.
    """

    __slots__ = ("counter", "prefix", "stop")

    def __init__(self, stop: frozenset[str], prefix: str = "", counter: list[int] | None = None):
        super().__init__()
        self.stop = stop
        self.prefix = prefix
        self.counter = [0] if counter is None else counter

    def step(self, tag: object) -> tuple[str, _Steps | None, bool] | None:
        found: tuple[str, _Steps | None, bool] | None = None
        if tag.__class__ is str:  # not a comment or processing instruction
            local = tag[tag.find("}") + 1 :]  # type: ignore[index, attr-defined]
            path = self.prefix + local
            towards = path in _TOWARDS and local not in self.stop
            below = _Steps(self.stop, path + "/", self.counter) if towards else None
            if towards or path in _READ_PATHS:
                found = (path, below, path in _MANY)
        if self.counter[0] < _MAX_STEPS:
            self.counter[0] += 1
            self[tag] = found
        return found


#: Every path the parser looks up in an index, and the parents it asks about ("Chrgs" in
#: index.paths): the walk records only these and descends only towards them, which spares the
#: work for every leaf and every part of an entry no field comes from. A lookup of a path
#: missing here would find nothing; test_camt.py checks each lookup of the corpus against it.
_READ_PATHS = frozenset(
    {
        *("Amt", "CdtDbtInd", "RvslInd", "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm"),
        *("NtryDtls/TxDtls", "NtryDtls/Btch/NbOfTxs", "Sts", "Sts/Cd", "NtryRef", "AcctSvcrRef"),
        *("AddtlNtryInf", "Chrgs/TtlChrgsAndTaxAmt", "Chrgs/Rcrd/Amt", "Chrgs/Amt"),
        *("BkTxCd/Domn/Cd", "BkTxCd/Domn/Fmly/Cd", "BkTxCd/Domn/Fmly/SubFmlyCd"),
        *("BkTxCd/Domn", "BkTxCd/Prtry/Cd", "AmtDtls/TxAmt/Amt", "AmtDtls/CntrValAmt/Amt"),
        *("RltdPties/Cdtr/Id/PrvtId/Othr", "RltdPties/Cdtr/Pty/Id/PrvtId/Othr"),
        *("RmtInf/Strd/AddtlRmtInf", "RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Ustrd"),
        *("RtrInf/AddtlInf", "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry", "AddtlTxInf"),
        *(f"Refs/{key}" for key in ("PmtInfId", "TxId", "MsgId", "AcctSvcrRef", "EndToEndId")),
        *(f"Refs/{key}" for key in ("InstrId", "MndtId")),
        *(path for side in (_DEBTOR, _CREDITOR) for path in (*side.name, side.iban, *side.bic)),
        *(path for side in (_DEBTOR, _CREDITOR) for path in side.ultimate),
    }
)
_TOWARDS = frozenset(
    path.rsplit("/", depth)[0] for path in _READ_PATHS for depth in range(1, path.count("/") + 1)
)
#: The paths read with `all` or `texts`: every element is kept; of the others only the first.
_MANY = frozenset(
    {
        *("NtryDtls/TxDtls", "NtryDtls/Btch/NbOfTxs", "Chrgs/Rcrd/Amt", "Chrgs/Amt"),
        *("RltdPties/Cdtr/Id/PrvtId/Othr", "RltdPties/Cdtr/Pty/Id/PrvtId/Othr"),
        *("RmtInf/Strd/AddtlRmtInf", "RmtInf/Strd/CdtrRefInf/Ref", "RmtInf/Ustrd"),
        "RtrInf/AddtlInf",
    }
)
_UNKNOWN: tuple[str, _Steps | None, bool] = ("", None, False)  # a tag not yet in the steps
_ENTRY_STEPS = _Steps(_UNREAD | {"TxDtls"})  # an entry's transactions get an index each
_TX_STEPS = _Steps(_UNREAD)


class _Index:
    """Every element below one entry (or one TxDtls) by its path of local names.

    One walk over the subtree is far cheaper than looking each value up on its own (lxml has
    to build a matcher for every lookup), and a path like "RltdPties/Dbtr/Pty/Nm" reads the
    same in every namespace.
    """

    __slots__ = ("many", "paths")

    def __init__(self, elem: Element | None, steps: _Steps | None = None) -> None:
        self.paths: dict[str, Element] = {}  # the first element of each path
        self.many: dict[str, list[Element]] = {}  # all of them, for the paths in _MANY
        if elem is not None and steps is not None:
            _walk(self.paths, self.many, elem, steps)

    def first(self, path: str) -> Element | None:
        return self.paths.get(path)

    def all(self, path: str) -> list[Element]:
        return self.many.get(path, [])

    def text(self, *paths: str) -> str:
        """The text of the first of `paths` that has one, whitespace collapsed."""
        for path in paths:
            found = self.paths.get(path)
            if found is not None:
                text = found.text
                if text and not text.isspace():
                    return " ".join(text.split())
        return ""

    def texts(self, path: str) -> list[str]:
        return [
            " ".join(item.text.split())
            for item in self.many.get(path, ())
            if item.text and not item.text.isspace()
        ]


def _walk(
    paths: dict[str, Element], many: dict[str, list[Element]], elem: Element, steps: _Steps
) -> None:
    for child in elem:
        tag = child.tag
        step = steps.get(tag, _UNKNOWN)
        if step is _UNKNOWN:
            step = steps.step(tag)
        if step is None:
            continue
        path, below, keep_all = step
        paths.setdefault(path, child)
        if keep_all:
            many.setdefault(path, []).append(child)
        if below is not None:  # only on the way to a read path, so nearly never a leaf
            _walk(paths, many, child, below)


@dataclass(slots=True)
class _Place:
    """Where in the file an entry is, for error messages a clerk can follow."""

    statement_id: str
    entry_index: int
    line: int | None

    def __str__(self) -> str:
        where = f"Auszug „{self.statement_id}“, Eintrag {self.entry_index}"
        if self.line:
            where += f" (Zeile {self.line})"
        return where


def _signed(amount_elem: Element | None, indicator: str, *, where: str) -> tuple[int, str]:
    """(signed cents, currency) of an `Amt` and its `CdtDbtInd`."""
    if amount_elem is None:
        raise StatementError(f"{where}: Der Betrag fehlt.", where=where)
    cents = iso_amount_cents(amount_elem.text, where=where)
    currency = (amount_elem.get("Ccy") or "").strip().upper()
    if indicator == "CRDT":
        return cents, currency
    if indicator == "DBIT":
        return -cents, currency
    shown = indicator or "(leer)"
    raise StatementError(
        f"{where}: Soll/Haben-Kennzeichen „{shown}“ ist weder CRDT noch DBIT.", where=where
    )


def _charges_cents(index: _Index, *, where: str) -> int:
    if "Chrgs" not in index.paths:  # the common case, answered without building any path
        return 0
    total = index.first("Chrgs/TtlChrgsAndTaxAmt")
    if total is not None:
        return iso_amount_cents(total.text, where=f"{where}, Gebühren")
    # .001.03 and later list records; .001.02 lists the amounts directly.
    amounts = index.all("Chrgs/Rcrd/Amt") + index.all("Chrgs/Amt")
    return sum(iso_amount_cents(amount.text, where=f"{where}, Gebühren") for amount in amounts)


def _bank_code(index: _Index) -> str:
    if "BkTxCd" not in index.paths:
        return ""
    if index.first("BkTxCd/Domn") is not None:
        parts = (
            index.text("BkTxCd/Domn/Cd"),
            index.text("BkTxCd/Domn/Fmly/Cd"),
            index.text("BkTxCd/Domn/Fmly/SubFmlyCd"),
        )
        return "/".join(part for part in parts if part)
    return index.text("BkTxCd/Prtry/Cd")


def _creditor_id(index: _Index) -> str:
    if "RltdPties/Cdtr" not in index.paths:
        return ""
    others = index.all("RltdPties/Cdtr/Id/PrvtId/Othr") + index.all(
        "RltdPties/Cdtr/Pty/Id/PrvtId/Othr"
    )
    for other in others:
        if _text(other, "SchmeNm", "Prtry").upper() == "SEPA":
            return _text(other, "Id")
    return ""


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


class _Statement:
    """One Stmt/Rpt/Ntfctn: its header, read once the first entry starts."""

    def __init__(self, elem: Element, fmt: str) -> None:
        self.elem = elem
        self.fmt = fmt
        self.info: StatementInfo | None = None
        self.entries = 0

    def read_info(self) -> StatementInfo:
        if self.info is not None:
            return self.info
        elem = self.elem
        statement_id = _text(elem, "Id")
        where = f"Auszug „{statement_id}“"
        account = _child(elem, "Acct")
        iban = compact_iban(_text(account, "Id", "IBAN"))
        number = "" if iban else _text(account, "Id", "Othr", "Id")
        currency = _text(account, "Ccy").upper()
        opening: int | None = None
        closing: int | None = None
        for balance in _children(elem, "Bal"):
            kind = _text(balance, "Tp", "CdOrPrtry", "Cd") or _text(
                balance, "Tp", "CdOrPrtry", "Prtry"
            )
            if kind not in {"OPBD", "PRCD", "CLBD"}:
                continue
            cents, balance_currency = _signed(
                _child(balance, "Amt"), _text(balance, "CdtDbtInd"), where=f"{where}, Saldo {kind}"
            )
            currency = currency or balance_currency
            if kind == "CLBD":
                closing = cents
            elif kind == "OPBD" or opening is None:
                opening = cents
        period = _child(elem, "FrToDt")
        self.info = StatementInfo(
            format=self.fmt,
            statement_id=statement_id,
            account_iban=iban,
            account_number=number,
            currency=currency,
            sequence_number=_text(elem, "ElctrncSeqNb") or _text(elem, "LglSeqNb"),
            created_at=_created_at(_text(elem, "CreDtTm"), where=where),
            from_date=iso_date(_text(period, "FrDtTm"), where=where),
            to_date=iso_date(_text(period, "ToDtTm"), where=where),
            opening_balance_cents=opening,
            closing_balance_cents=closing,
        )
        return self.info


def _created_at(text: str, *, where: str) -> dt.datetime | None:
    # Some banks write seven fraction digits (.NET ticks); Python reads at most six.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    return iso_datetime(text, where=where)


def _entry_lines(entry: Element, info: StatementInfo, place: _Place) -> list[StatementLine]:
    """The entry's lines; a list, as all of an entry is checked before any of it is given out."""
    where = str(place)
    index = _Index(entry, _ENTRY_STEPS)
    indicator = index.text("CdtDbtInd")
    amount, currency = _signed(index.first("Amt"), indicator, where=where)
    currency = currency or info.currency
    if not currency:
        raise StatementError(f"{where}: Die Währung des Betrags fehlt.", where=where)
    reversal = index.text("RvslInd").lower() in {"true", "1"}
    booking = iso_date(index.text("BookgDt/Dt", "BookgDt/DtTm"), where=where)
    value = iso_date(index.text("ValDt/Dt", "ValDt/DtTm"), where=where)
    transactions = index.all("NtryDtls/TxDtls")
    declared = 0
    if "NtryDtls/Btch" in index.paths:
        for count in index.texts("NtryDtls/Btch/NbOfTxs"):
            if not count.isdigit():
                raise StatementError(
                    f"{where}: NbOfTxs „{count[:20]}“ ist keine Zahl.", where=where
                )
            declared += int(count)
    status = index.text("Sts/Cd", "Sts")
    extra: list[tuple[str, str]] = []
    if status and status != "BOOK":
        extra.append(("status", status))
    entry_reference = index.text("NtryRef")
    entry_code = _bank_code(index)
    entry_ref = index.text("AcctSvcrRef")
    entry_info = index.text("AddtlNtryInf")
    entry_charges = _charges_cents(index, where=where)
    tx_indexes = [_Index(tx, _TX_STEPS) for tx in transactions]

    # Only a batch is split, so only a batch needs its transactions' amounts.
    amounts = (
        [_transaction_amount(tx, currency) for tx in tx_indexes] if len(transactions) > 1 else []
    )
    splittable = len(transactions) > 1 and all(
        isinstance(found, etree._Element) for found in amounts
    )
    if len(transactions) > 1 and not splittable:
        if any(isinstance(found, etree._Element) for found in amounts) and "foreign" not in amounts:
            missing = amounts.index("none") + 1
            tx_where = f"{where}, Transaktion {missing}"
            raise StatementError(f"{tx_where}: Der Betrag der Transaktion fehlt.", where=tx_where)
        # Transactions without amounts in the entry's currency cannot be split exactly; the
        # entry stays one line, as a batch without details would.
        reason = "foreign_currency" if "foreign" in amounts else "no_amounts"
        extra.append(("batch_not_split", reason))

    if not splittable:
        fields = _merged(
            [
                _transaction_fields(tx, indicator=indicator, reversal=reversal, where=where)
                for tx in tx_indexes
            ]
        )
        line = fields.line(
            info,
            entry_index=place.entry_index,
            transaction_index=0,
            amount_cents=amount,
            currency=currency,
            booking_date=booking,
            value_date=value,
            reversal=reversal,
            entry_reference=entry_reference,
            charges_cents=entry_charges or fields.charges_cents,
            bank_transaction_code=fields.bank_transaction_code or entry_code,
            account_servicer_reference=fields.account_servicer_reference or entry_ref,
            additional_info=_join(entry_info, fields.additional_info),
            batch=max(declared, len(transactions)) > 1,
            batch_count=max(declared, len(transactions), 1),
            extra=(*extra, *fields.extra),
        )
        return [line]

    lines = []
    total = 0
    for number, (tx, tx_amount) in enumerate(zip(tx_indexes, amounts, strict=True), start=1):
        tx_where = f"{where}, Transaktion {number}"
        assert isinstance(tx_amount, etree._Element)  # splittable says so
        tx_indicator = tx.text("CdtDbtInd") or indicator
        tx_cents, _ = _signed(tx_amount, tx_indicator, where=tx_where)
        total += tx_cents
        fields = _transaction_fields(tx, indicator=tx_indicator, reversal=reversal, where=tx_where)
        lines.append(
            fields.line(
                info,
                entry_index=place.entry_index,
                transaction_index=number,
                amount_cents=tx_cents,
                currency=currency,
                booking_date=booking,
                value_date=value,
                reversal=reversal,
                entry_reference=entry_reference,
                charges_cents=fields.charges_cents,
                bank_transaction_code=fields.bank_transaction_code or entry_code,
                account_servicer_reference=fields.account_servicer_reference or entry_ref,
                additional_info=fields.additional_info or entry_info,
                batch=True,
                batch_count=max(declared, len(transactions)),
                extra=(*extra, *fields.extra),
            )
        )
    if total != amount:
        raise StatementError(
            f"{where}: Die {len(transactions)} Transaktionen ergeben {_euro(total)}, der Eintrag "
            f"lautet auf {_euro(amount)}.",
            where=where,
        )
    return lines


def _transaction_amount(tx: _Index, currency: str) -> Element | str:
    """The transaction's amount in the entry's currency; "none" or "foreign" when it has none."""
    present = [
        found
        for found in (
            tx.first("Amt"),
            tx.first("AmtDtls/TxAmt/Amt"),
            tx.first("AmtDtls/CntrValAmt/Amt"),
        )
        if found is not None
    ]
    for found in present:
        if (found.get("Ccy") or currency).strip().upper() == currency:
            return found
    return "foreign" if present else "none"


def _merged(parts: list[_TxFields]) -> _TxFields:
    """One set of fields for transactions that stay one line: what they all agree on, and
    every remittance text and reference (so the matcher still sees each Kassenzeichen)."""
    if not parts:
        return _EMPTY
    if len(parts) == 1:
        return parts[0]
    values: dict[str, object] = {}
    for item in dataclasses.fields(_TxFields):
        seen = [getattr(part, item.name) for part in parts]
        if item.name in {"remittance_text", "structured_reference", "additional_info"}:
            values[item.name] = " ".join(dict.fromkeys(value for value in seen if value))
        elif item.name == "extra":
            values[item.name] = tuple(dict.fromkeys(pair for value in seen for pair in value))
        elif item.name == "charges_cents":
            values[item.name] = sum(seen)
        else:
            values[item.name] = seen[0] if all(value == seen[0] for value in seen) else ""
    return _TxFields(**values)  # type: ignore[arg-type]


def _euro(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{part:02d} €"


@dataclass(slots=True)  # not frozen: built for every line, and frozen init is slow
class _TxFields:
    """What one TxDtls says (all empty for an entry without one)."""

    charges_cents: int
    bank_transaction_code: str
    account_servicer_reference: str
    additional_info: str
    return_reason: str
    remittance_text: str
    structured_reference: str
    end_to_end_id: str
    customer_reference: str
    mandate_id: str
    creditor_id: str
    counterparty_name: str
    counterparty_iban: str
    counterparty_bic: str
    ultimate_party_name: str
    extra: tuple[tuple[str, str], ...]

    def line(
        self,
        info: StatementInfo,
        *,
        entry_index: int,
        transaction_index: int,
        amount_cents: int,
        currency: str,
        booking_date: dt.date | None,
        value_date: dt.date | None,
        reversal: bool,
        entry_reference: str,
        charges_cents: int,
        bank_transaction_code: str,
        account_servicer_reference: str,
        additional_info: str,
        batch: bool,
        batch_count: int,
        extra: tuple[tuple[str, str], ...],
    ) -> StatementLine:
        # Positional, in the field order of StatementLine: 27 keywords are matched to their
        # parameters one by one, on every line of the file.
        return StatementLine(
            info,
            entry_index,
            transaction_index,
            amount_cents,
            currency,
            booking_date,
            value_date,
            reversal,
            self.return_reason,
            charges_cents,
            self.remittance_text,
            self.structured_reference,
            self.end_to_end_id,
            account_servicer_reference,
            entry_reference,
            self.customer_reference,
            self.mandate_id,
            self.creditor_id,
            self.counterparty_name,
            self.counterparty_iban,
            self.counterparty_bic,
            self.ultimate_party_name,
            bank_transaction_code,
            batch,
            batch_count,
            additional_info,
            extra,
        )


def _transaction_fields(tx: _Index, *, indicator: str, reversal: bool, where: str) -> _TxFields:
    """The StatementLine fields one TxDtls gives (all empty without one)."""
    # The counterparty is who paid a credit or received a debit; a reversal turns the booking
    # around, but the party is still the one of the original payment.
    paid_in = (indicator == "CRDT") != reversal
    side, other = (_DEBTOR, _CREDITOR) if paid_in else (_CREDITOR, _DEBTOR)
    paths = tx.paths
    text = tx.text
    name = text(*side.name)
    iban = compact_iban(text(side.iban))
    bic = text(*side.bic).upper()
    if not (name or iban):
        name = text(*other.name)
        iban = compact_iban(text(other.iban))
        bic = bic or text(*other.bic).upper()
    extra: list[tuple[str, str]] = []
    structured = ""
    if "RmtInf/Strd" in paths:
        extra.extend(
            ("additional_remittance", value) for value in tx.texts("RmtInf/Strd/AddtlRmtInf")
        )
        structured = " ".join(tx.texts("RmtInf/Strd/CdtrRefInf/Ref"))
    return_reason = ""
    if "RtrInf" in paths:
        return_text = " ".join(tx.texts("RtrInf/AddtlInf"))
        if return_text:
            extra.append(("return_info", return_text))
        return_reason = text("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry")
    servicer_ref = end_to_end = instruction = mandate = ""
    if "Refs" in paths:  # parents are asked first: most lookups below them would find nothing
        for key, path in _EXTRA_REFS:
            value = text(path)
            if value:
                extra.append((key, value))
        servicer_ref = text("Refs/AcctSvcrRef")
        end_to_end = text("Refs/EndToEndId")
        instruction = text("Refs/InstrId")
        mandate = text("Refs/MndtId")
    if other.iban in paths:
        other_iban = compact_iban(text(other.iban))
        if other_iban and other_iban != iban:
            extra.append((other.iban_key, other_iban))
    return _TxFields(
        _charges_cents(tx, where=where),
        _bank_code(tx),
        servicer_ref,
        text("AddtlTxInf"),
        return_reason,
        " ".join(tx.texts("RmtInf/Ustrd")),
        structured,
        end_to_end,
        instruction,
        mandate,
        _creditor_id(tx),
        name,
        iban,
        bic,
        text(*side.ultimate) if side.ultimate_party in paths else "",
        tuple(extra),
    )


_EXTRA_REFS = tuple((key, f"Refs/{key}") for key in ("PmtInfId", "TxId", "MsgId"))


_EMPTY = _transaction_fields(_Index(None), indicator="CRDT", reversal=False, where="")


def _format_of(elem: Element, message: str) -> str:
    for uri in (elem.nsmap or {}).values():
        match = _VERSION.search(uri or "")
        if match:
            return match[0]
    return message


def _guarded_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in chunks, refusing DTDs before the XML parser sees them."""
    tail = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return
        window = tail + chunk
        for marker in _FORBIDDEN:
            if marker in window:
                raise StatementError(
                    "Die XML-Datei enthält eine DOCTYPE- oder ENTITY-Deklaration; aus "
                    "Sicherheitsgründen werden solche Dateien nicht gelesen."
                )
        tail = window[-_OVERLAP:]
        yield chunk


class _Events:
    """Turns the parser's start/end events into statements and lines."""

    def __init__(self) -> None:
        self.message = ""
        self.statement: _Statement | None = None
        self.statements = 0

    def handle(self, event: str, elem: Element) -> list[StatementLine] | None:
        tag = elem.tag
        name = _NAMES.get(tag)
        if name is None:
            name = _local(tag)
            if len(_NAMES) < _MAX_STEPS:
                _NAMES[tag] = name
        if name in _MESSAGE_FORMATS:
            if event == "start":
                self.message = _MESSAGE_FORMATS[name]
            return None
        if name in _STATEMENT_TAGS:
            if not self.message:
                return None
            if event == "start":
                self.statement = _Statement(elem, _format_of(elem, self.message))
                self.statements += 1
            elif self.statement is not None:
                self.statement.read_info()
                elem.clear()
                self.statement = None
            return None
        statement = self.statement  # the element is an Ntry
        if statement is None:
            return None
        info = statement.read_info()
        if event == "start":
            return None
        statement.entries += 1
        line: object = elem.sourceline
        place = _Place(
            info.statement_id, statement.entries, line if isinstance(line, int) else None
        )
        lines = _entry_lines(elem, info, place)
        parent = elem.getparent()
        elem.clear()
        if parent is not None:
            parent.remove(elem)
        return lines


#: Local names of the tags the parser asks lxml for, by full tag (capped like the steps).
_NAMES: dict[object, str] = {}


def parse_camt(stream: IO[bytes]) -> Iterator[StatementLine]:
    """Every line of a camt.052/053/054 file, in file order."""
    parser = etree.XMLPullParser(
        events=("start", "end"),
        tag=("{*}" + name for name in (*_MESSAGE_FORMATS, *_STATEMENT_TAGS, "Ntry")),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    events = _Events()
    try:
        for chunk in _guarded_chunks(stream):
            parser.feed(chunk)
            for event, elem in parser.read_events():
                if isinstance(elem, etree._Element):
                    lines = events.handle(event, elem)
                    if lines:
                        yield from lines
        parser.close()
    except etree.XMLSyntaxError as exc:
        line = f" (Zeile {exc.lineno})" if getattr(exc, "lineno", None) else ""
        raise StatementError(
            f"Die XML-Datei ist beschädigt oder unvollständig{line}: {exc.msg}"
        ) from exc
    if not events.message or not events.statements:
        raise StatementError(
            "Die XML-Datei ist kein Kontoauszug im camt-Format (camt.052, camt.053 oder camt.054)."
        )
