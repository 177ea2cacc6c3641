"""Posting rules of DESIGN §3, as plain data: which accounts a business event moves.

The ledger knows nothing of payments or receivables; callers hand in ids and cents and get back
the lines to post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rathauskasse.ledger.models import AccountKind


@dataclass(frozen=True, slots=True)
class AccountRef:
    """Names an account without loading it: kind plus, where needed, budget line or qualifier."""

    kind: AccountKind
    budget_line_id: int | None = None
    qualifier: str = ""

    @property
    def key(self) -> str:
        if self.kind == AccountKind.REVENUE:
            return f"revenue:{self.budget_line_id}"
        return f"{self.kind.value}:{self.qualifier}" if self.qualifier else self.kind.value


@dataclass(frozen=True, slots=True)
class PostingLine:
    account: AccountRef
    amount_cents: int  # debit positive, credit negative
    open_item_id: int | None = None


RECEIVABLES = AccountRef(AccountKind.RECEIVABLES)
SUSPENSE = AccountRef(AccountKind.SUSPENSE)


def revenue(budget_line_id: int) -> AccountRef:
    return AccountRef(AccountKind.REVENUE, budget_line_id=budget_line_id)


def provider_clearing(provider: str) -> AccountRef:
    return AccountRef(AccountKind.PROVIDER_CLEARING, qualifier=provider)


def bank(iban: str) -> AccountRef:
    """The Bank account of one of the organisation's bank accounts (one per IBAN)."""
    return AccountRef(AccountKind.BANK, qualifier=iban)


def fees(provider: str) -> AccountRef:
    return AccountRef(AccountKind.FEES, qualifier=provider)


def receivable_created(*, open_item_id: int, lines: Sequence[tuple[int, int]]) -> list[PostingLine]:
    """Debit Receivables with the total, credit Revenue per budget line.

    `lines` are (budget_line_id, cents) pairs with positive cents.
    """
    total = sum(cents for _, cents in lines)
    return [
        PostingLine(RECEIVABLES, total, open_item_id),
        *(PostingLine(revenue(budget_line_id), -cents) for budget_line_id, cents in lines),
    ]


def receivable_increased(
    *, open_item_id: int, budget_line_id: int, cents: int
) -> list[PostingLine]:
    """A charge added to an open item later (a reminder fee): debit Receivables, credit Revenue.

    A new entry of its own; the receivable's first entry stays as it was.
    """
    return receivable_created(open_item_id=open_item_id, lines=[(budget_line_id, cents)])


def payment_succeeded(
    *, provider: str, allocations: Sequence[tuple[int, int]]
) -> list[PostingLine]:
    """Debit the provider's clearing account, credit Receivables per paid open item.

    `allocations` are (open_item_id, cents) pairs with positive cents.
    """
    total = sum(cents for _, cents in allocations)
    return [
        PostingLine(provider_clearing(provider), total),
        *(PostingLine(RECEIVABLES, -cents, open_item_id) for open_item_id, cents in allocations),
    ]


def refund(*, provider: str, allocations: Sequence[tuple[int, int]]) -> list[PostingLine]:
    """Debit Receivables per open item (the money is owed again), credit the provider's clearing."""
    total = sum(cents for _, cents in allocations)
    return [
        *(PostingLine(RECEIVABLES, cents, open_item_id) for open_item_id, cents in allocations),
        PostingLine(provider_clearing(provider), -total),
    ]


def bank_line(
    *,
    bank: AccountRef,
    amount_cents: int,
    allocations: Sequence[tuple[int, int]],
    suspense_cents: int,
) -> list[PostingLine]:
    """A bank statement line: Bank by its signed amount, Receivables credited per allocation
    ((open_item_id, cents), positive), and the rest to Suspense (Verwahrgeld).

    A credit with no allocation is "debit Bank, credit Suspense"; a debit we cannot assign is
    "debit Suspense, credit Bank".
    """
    lines = [PostingLine(bank, amount_cents)]
    lines += [PostingLine(RECEIVABLES, -cents, open_item_id) for open_item_id, cents in allocations]
    if suspense_cents:
        lines.append(PostingLine(SUSPENSE, -suspense_cents))
    return lines


def provider_payout(
    *, bank: AccountRef, provider: str, amount_cents: int, fee_cents: int
) -> list[PostingLine]:
    """A provider's collective payout: debit Bank (what arrived) and Fees, credit its clearing."""
    lines = [
        PostingLine(bank, amount_cents),
        PostingLine(provider_clearing(provider), -(amount_cents + fee_cents)),
    ]
    if fee_cents:
        lines.append(PostingLine(fees(provider), fee_cents))
    return lines


def suspense_assigned(*, allocations: Sequence[tuple[int, int]]) -> list[PostingLine]:
    """Money held in Suspense assigned to receivables ((open_item_id, cents), positive):
    debit Suspense with the total, credit Receivables per receivable."""
    total = sum(cents for _, cents in allocations)
    return [
        PostingLine(SUSPENSE, total),
        *(PostingLine(RECEIVABLES, -cents, open_item_id) for open_item_id, cents in allocations),
    ]


def assignment_undone(*, allocations: Sequence[tuple[int, int]]) -> list[PostingLine]:
    """An assignment of bank money taken back: the receivables are owed again (debit), the money
    stays on the bank account and waits in Suspense (credit)."""
    total = sum(cents for _, cents in allocations)
    return [
        *(PostingLine(RECEIVABLES, cents, open_item_id) for open_item_id, cents in allocations),
        PostingLine(SUSPENSE, -total),
    ]
