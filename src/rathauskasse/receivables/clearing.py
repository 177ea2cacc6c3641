"""Is money for a receivable on its way? Then it is "under clearing" and nobody reminds it.

Today that means an unfinished payment (started at its provider, or pending there, like a
direct debit being collected). The payments domain sits above this one and registers that
check (`payments.apps`); the bank-statement clearing queue of a later issue registers its own
(a bank line assigned to the receivable but not yet cleared). Each check takes an organisation
and receivable ids and returns those under clearing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

Check = Callable[[int, list[int]], set[int]]

_checks: list[Check] = []


def register(check: Check) -> None:
    if check not in _checks:
        _checks.append(check)


def under_clearing_ids(*, organisation_id: int, receivable_ids: Iterable[int]) -> set[int]:
    ids = list(receivable_ids)
    found: set[int] = set()
    if not ids:
        return found
    for check in _checks:
        found |= check(organisation_id, ids)
    return found
