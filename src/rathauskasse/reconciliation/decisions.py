"""What the matcher decides about one statement line: plain, frozen records, no database.

The matcher (`matching.py`) is a pure function from a `StatementLine` and the open items its
references point to, to a `Decision`. The booking service carries a decision out in the ledger
and records it next to the line, so that the cash office sees which rule decided and why.

Invariants every decision keeps (the booking service checks them again before it posts):
- a decision never assigns more than the line's amount: the allocations and the suspense part
  add up to exactly the line's amount (for a credit);
- only `Outcome.BOOKED` and `Outcome.FLAGGED` are booked to receivables automatically; anything
  in `Outcome.CLEARING` goes to suspense in full and waits for the cash office;
- the reason is German, one or two sentences a clerk understands without knowing the rule names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    """Which rule decided; stored with the line, shown (translated) to the cash office."""

    EXACT = "exact"  # one Kassenzeichen, exactly its open amount
    PARTIAL = "partial"  # one Kassenzeichen, less than its open amount
    OVERPAID = "overpaid"  # one Kassenzeichen, more than open: the remainder to suspense
    SPLIT = "split"  # several Kassenzeichen whose open amounts add up to the line
    DUPLICATE = "duplicate"  # the receivable is paid or cancelled already
    AMBIGUOUS = "ambiguous"  # several Kassenzeichen that do not add up to the line
    NO_REFERENCE = "no_reference"  # no usable Kassenzeichen at all
    REVERSAL = "reversal"  # a returned direct debit or a reversal of an earlier booking
    PAYOUT = "payout"  # a payment provider's collective payout
    OUTGOING = "outgoing"  # money out that is not a return (e.g. a transfer we made)


class Outcome(StrEnum):
    BOOKED = "booked"  # booked automatically, nothing to do
    FLAGGED = "flagged"  # booked automatically, but the cash office should look at it
    CLEARING = "clearing"  # not booked to a receivable: waits in the clearing queue


@dataclass(frozen=True, slots=True)
class OpenItem:
    """A receivable as the matcher sees it (looked up by the Kassenzeichen candidates)."""

    receivable_id: int
    kassenzeichen: str  # canonical, compact
    open_cents: int  # the open amount now (ledger balance); 0 when paid
    status: str  # ReceivableStatus value: "open", "paid", "cancelled"
    debtor_name: str = ""
    due_date: dt.date | None = None
    total_cents: int = 0


@dataclass(frozen=True, slots=True)
class Payout:
    """A provider's collective payout as the matcher sees it (found by its reference)."""

    payout_id: int
    provider: str
    reference: str
    amount_cents: int


@dataclass(frozen=True, slots=True)
class Allocation:
    receivable_id: int
    kassenzeichen: str
    amount_cents: int  # > 0


@dataclass(frozen=True, slots=True)
class Decision:
    rule: Rule
    outcome: Outcome
    reason: str
    allocations: tuple[Allocation, ...] = ()
    suspense_cents: int = 0  # the part of a credit that goes to suspense
    #: Kassenzeichen the matcher read in the line (canonical), valid or not found, for display.
    candidates: tuple[str, ...] = ()
    payout: Payout | None = None

    @property
    def allocated_cents(self) -> int:
        return sum(a.amount_cents for a in self.allocations)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A receivable the clearing queue offers for a line it could not assign, best first."""

    item: OpenItem
    score: float  # 0..1, higher is better
    reasons: tuple[str, ...]  # German: "gleicher Betrag", "Name ähnlich", "IBAN bekannt", ...
