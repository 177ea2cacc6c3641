"""No selector hands out another organisation's data."""

from __future__ import annotations

import pytest

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.receivables import selectors as receivable_selectors
from tests import factories

pytestmark = pytest.mark.django_db


def test_receivables_and_payments_of_another_organisation_are_invisible(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    other = factories.organisation()
    other_department, other_line = factories.department(other), factories.budget_line(other)
    factories.receivable(other, other_department, other_line, 100)  # their number 1 is also ours
    theirs = factories.receivable(other, other_department, other_line, 500)
    ours = factories.receivable(org, department, budget_line, 700)
    their_payment = factories.payment(other, theirs)

    assert list(receivable_selectors.receivables(organisation=org)) == [ours]
    assert theirs.kassenzeichen != ours.kassenzeichen
    with pytest.raises(NotFound):
        receivable_selectors.get_receivable(organisation=org, receivable_id=theirs.pk)
    # Both organisations share the scheme, so the other's Kassenzeichen is valid but not ours.
    with pytest.raises(NotFound):
        receivable_selectors.find_by_kassenzeichen(organisation=org, text=theirs.kassenzeichen)
    assert (
        receivable_selectors.find_by_kassenzeichen(organisation=other, text=theirs.kassenzeichen)
        == theirs
    )
    with pytest.raises(NotFound):
        payment_selectors.get_payment(organisation=org, public_id=their_payment.public_id)
    assert not payment_selectors.payments(organisation=org).exists()
    assert receivable_selectors.open_amounts(organisation=org, receivable_ids=[theirs.pk]) == {
        theirs.pk: 0
    }


def test_kassenzeichen_typed_with_separators_is_found(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 700)
    typed = (
        " " + "-".join(receivable.kassenzeichen[i : i + 3] for i in range(0, 9, 3)).lower() + " "
    )
    assert receivable_selectors.find_by_kassenzeichen(organisation=org, text=typed) == receivable


def test_malformed_payment_id_is_not_found_not_an_error(org: Organisation) -> None:
    with pytest.raises(NotFound):
        payment_selectors.get_payment(organisation=org, public_id="nonsense")
