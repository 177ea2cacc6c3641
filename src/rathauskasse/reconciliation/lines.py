"""What a parsed bank statement is: plain, frozen records, no database.

Every parser (camt.052/053/054, MT940, CSV profiles) turns bytes into these and nothing else, so
that the importer, the matcher and `manage.py parse_statement` never see a format. Amounts are
integer cents, signed from the account holder's view: credits (money in) positive, debits
negative. A field the file does not carry is the empty string (or None for dates), never a
guessed default; a value the file carries but that cannot be read is a `StatementError`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from rathauskasse.core.errors import DomainError


class StatementError(DomainError):
    """A file that is not a readable statement; the message names the place (line, entry)."""

    code = "statement_unreadable"


@dataclass(frozen=True, slots=True)
class StatementInfo:
    """One statement (one account, one period) inside a file; a file may hold several."""

    format: str  # "camt.053.001.08", "camt.054.001.04", "mt940", "csv:<profile>"
    statement_id: str  # camt Stmt/Id (Rpt/Id, Ntfctn/Id); MT940 :20: + :28C:
    account_iban: str  # compact, upper case; "" when the file names the account otherwise
    account_number: str = ""  # MT940 :25: when it is not an IBAN (BLZ/Kontonummer)
    currency: str = "EUR"
    sequence_number: str = ""  # ElctrncSeqNb / :28C:
    created_at: dt.datetime | None = None
    from_date: dt.date | None = None
    to_date: dt.date | None = None
    opening_balance_cents: int | None = None  # signed; None when the file gives none
    closing_balance_cents: int | None = None


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One transaction: an entry, or one transaction of a batch entry (`TxDtls`)."""

    statement: StatementInfo
    entry_index: int  # 1-based position of the entry in its statement
    transaction_index: int  # 1-based position inside a batch entry; 0 when not split
    amount_cents: int  # signed: credit > 0, debit < 0
    currency: str
    booking_date: dt.date | None
    value_date: dt.date | None
    reversal: bool = False  # RvslInd, MT940 RC/RD: a return or reversal of an earlier booking
    return_reason: str = ""  # RtrInf/Rsn/Cd, e.g. "AC04", "MD06"; MT940 SVWZ/?2x "RUECKLASTSCHRIFT"
    charges_cents: int = 0  # charges the bank took for this entry (positive)
    remittance_text: str = ""  # every Ustrd, joined by a space; MT940 SVWZ+/?20-?29
    structured_reference: str = ""  # Strd/CdtrRefInf/Ref (e.g. an RF creditor reference)
    end_to_end_id: str = ""  # EndToEndId / EREF+ ("NOTPROVIDED" kept as the bank wrote it)
    account_servicer_reference: str = ""  # AcctSvcrRef (entry or transaction); MT940 bank ref
    entry_reference: str = ""  # NtryRef
    customer_reference: str = ""  # MT940 KREF+ / :61: customer reference; camt InstrId
    mandate_id: str = ""  # MndtId / MREF+
    creditor_id: str = ""  # CdtrSchmeId / CRED+
    counterparty_name: str = ""  # the debtor of a credit, the creditor of a debit
    counterparty_iban: str = ""
    counterparty_bic: str = ""
    ultimate_party_name: str = ""  # UltmtDbtr/UltmtCdtr, ABWA+/ABWE+
    bank_transaction_code: str = ""  # BkTxCd (Domn/Fmly/SubFmly or Prtry), MT940 GVC
    batch: bool = False  # part of (or all of) a collective entry
    batch_count: int = 1  # NbOfTxs of the entry when the bank says so
    additional_info: str = ""  # AddtlNtryInf / AddtlTxInf, MT940 booking text
    extra: tuple[tuple[str, str], ...] = field(default=())  # anything else worth showing

    @property
    def is_credit(self) -> bool:
        return self.amount_cents > 0

    def as_json(self) -> dict[str, Any]:
        """The record as `parse_statement` prints it: dates ISO, the statement inlined."""
        data = asdict(self)
        info = data.pop("statement")
        data["extra"] = dict(self.extra)
        out: dict[str, Any] = {
            "format": info["format"],
            "statement_id": info["statement_id"],
            "account_iban": info["account_iban"] or info["account_number"],
        }
        out.update(data)
        for key, value in out.items():
            if isinstance(value, dt.date | dt.datetime):
                out[key] = value.isoformat()
        return out
