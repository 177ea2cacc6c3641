"""Statement lines and open items for the matcher's tests, built directly (no parser)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.reconciliation.decisions import OpenItem
from rathauskasse.reconciliation.lines import StatementInfo, StatementLine

#: The default scheme: no prefix, two year digits, six running digits, Luhn.
PLAIN = Scheme(prefix="", year_digits=2, number_digits=6, algorithm="luhn")
#: A prefixed scheme as many municipalities use it: 51 26 000123 8.
PREFIXED = Scheme(prefix="51", year_digits=2, number_digits=6, algorithm="luhn")
INFO = StatementInfo(
    format="camt.053.001.08", statement_id="S1", account_iban="DE02120300000000202051"
)
BOOKED_ON = dt.date(2026, 3, 12)


def line(amount_cents: int = 4500, text: str = "", **fields: Any) -> StatementLine:
    values: dict[str, Any] = {
        "statement": INFO,
        "entry_index": 1,
        "transaction_index": 0,
        "amount_cents": amount_cents,
        "currency": "EUR",
        "booking_date": BOOKED_ON,
        "value_date": BOOKED_ON,
        "remittance_text": text,
    }
    values.update(fields)
    return StatementLine(**values)


def kz(number: int, *, year: int = 2026, scheme: Scheme = PREFIXED) -> str:
    return scheme.build(year=year, number=number)


def item(
    kassenzeichen: str,
    open_cents: int = 4500,
    *,
    receivable_id: int | None = None,
    status: str = "open",
    **fields: Any,
) -> OpenItem:
    return OpenItem(
        receivable_id=receivable_id if receivable_id is not None else int(kassenzeichen[-7:]),
        kassenzeichen=kassenzeichen,
        open_cents=open_cents,
        status=status,
        total_cents=fields.pop("total_cents", open_cents),
        **fields,
    )
