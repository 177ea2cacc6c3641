"""Creating receivables in bulk: the same rows and postings as one by one, or nothing at all."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathauskasse.core import clock
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import Account, AccountKind, JournalEntry, JournalLine
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import Receivable, ReceivableLine, ReceivableSource
from rathauskasse.receivables.services import (
    Debtor,
    LineInput,
    NewReceivable,
    create_receivable,
    create_receivables_bulk,
    id_ranges,
)
from tests import factories

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR


class _Rollback(Exception):
    pass


def _city() -> tuple[Organisation, list[Department], list[BudgetLine]]:
    org = factories.organisation(kz_check_algorithm="weighted2n")
    departments = [factories.department(org, "Steueramt"), factories.department(org, "Bauamt")]
    lines = [factories.budget_line(org, "611010.401300"), factories.budget_line(org, "521010.4314")]
    return org, departments, lines


_words = st.text(alphabet="abcdeäöüßÄÖÜ -", min_size=1, max_size=20).filter(str.strip)
_spec = st.fixed_dictionaries(
    {
        "number": st.integers(1, 999_999),
        "department": st.integers(0, 1),
        "lines": st.lists(
            st.tuples(st.integers(1, 10_000_000), st.integers(0, 1), _words), min_size=1, max_size=3
        ),
        "purpose": _words,
        "name": _words,
        "postcode": st.sampled_from(["", "01067", "52349"]),
        "country": st.sampled_from(["DE", "AT"]),
        "due_in": st.none() | st.integers(-30, 60),
        "reference": st.sampled_from(["", "BELEG-1"]),
    }
)


def _new(
    spec: dict[str, Any], org: Organisation, departments: list[Department], lines: list[BudgetLine]
) -> NewReceivable:
    return NewReceivable(
        department=departments[spec["department"]],
        lines=[
            LineInput(text=text, amount_cents=cents, budget_line=lines[which])
            for cents, which, text in spec["lines"]
        ],
        purpose=spec["purpose"],
        debtor=Debtor(name=spec["name"], postcode=spec["postcode"], country=spec["country"]),
        kassenzeichen=Scheme.of(org).build(year=2026, number=spec["number"]),
        due_date=None
        if spec["due_in"] is None
        else dt.date(2026, 12, 1) + dt.timedelta(spec["due_in"]),
        source_reference=spec["reference"],
    )


def _picture(org: Organisation) -> dict[str, Any]:
    """Everything creation wrote for the organisation, with ids replaced by Kassenzeichen."""
    kz_of = dict(Receivable.objects.filter(organisation=org).values_list("id", "kassenzeichen"))
    receivables = {
        row.pop("kassenzeichen"): row
        for row in Receivable.objects.filter(organisation=org).values(
            "kassenzeichen",
            "department__name",
            "service",
            "purpose",
            "amount_cents",
            "due_date",
            "status",
            "source",
            "source_reference",
            "allows_overpayment",
            "debtor_name",
            "debtor_street",
            "debtor_postcode",
            "debtor_city",
            "debtor_country",
            "debtor_email",
            "debtor_account",
            "paid_at",
        )
    }
    lines = sorted(
        (kz_of[r], p, t, a, c, tuple(sorted(b.items())))
        for r, p, t, a, c, b in ReceivableLine.objects.filter(
            receivable__organisation=org
        ).values_list(
            "receivable_id", "position", "text", "amount_cents", "budget_line__code", "booking_data"
        )
    )

    def key(account: Account) -> str:
        return account.budget_line.code if account.kind == AccountKind.REVENUE else account.key  # type: ignore[union-attr]

    accounts = {
        a.pk: key(a) for a in Account.objects.filter(organisation=org).select_related("budget_line")
    }
    entries = sorted(
        (
            e.kind,
            e.text,
            e.reference.replace(e.reference.split(":")[1], kz_of[int(e.reference.split(":")[1])]),
            e.idempotency_key.replace(
                e.idempotency_key.split(":")[1], kz_of[int(e.idempotency_key.split(":")[1])]
            ),
            e.booking_date,
            e.actor_label,
            tuple(
                (accounts[line.account_id], line.amount_cents, kz_of.get(line.open_item_id or 0))
                for line in e.lines.order_by("id")
            ),
        )
        for e in JournalEntry.objects.filter(organisation_id=org.pk).prefetch_related("lines")
    )
    balances = {
        kz_of[pk]: cents
        for pk, cents in ledger_selectors.open_item_balances(
            organisation_id=org.pk, open_item_ids=kz_of
        ).items()
    }
    by_account = sorted(
        (key(account), cents)
        for account, cents in ledger_selectors.account_balances(organisation_id=org.pk)
    )
    return {
        "receivables": receivables,
        "lines": lines,
        "entries": entries,
        "open_items": balances,
        "accounts": by_account,
    }


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(_spec, min_size=1, max_size=5, unique_by=lambda s: s["number"]))
def test_bulk_creation_gives_the_rows_and_balances_of_one_by_one(
    db: None, specs: list[dict[str, Any]]
) -> None:
    try:
        with transaction.atomic():
            one_org, one_departments, one_lines = _city()
            bulk_org, bulk_departments, bulk_lines = _city()
            for spec in specs:
                new = _new(spec, one_org, one_departments, one_lines)
                create_receivable(
                    actor=ACTOR,
                    organisation=one_org,
                    department=new.department,
                    lines=new.lines,
                    purpose=new.purpose,
                    debtor=new.debtor,
                    source=ReceivableSource.IMPORT,
                    due_date=new.due_date,
                    kassenzeichen=new.kassenzeichen,
                    source_reference=new.source_reference,
                )
            ids = create_receivables_bulk(
                actor=ACTOR,
                organisation=bulk_org,
                receivables=[_new(spec, bulk_org, bulk_departments, bulk_lines) for spec in specs],
                source=ReceivableSource.IMPORT,
            )
            assert ids == sorted(ids)
            assert _picture(bulk_org) == _picture(one_org)
            assert ledger_selectors.check_integrity(organisation_id=bulk_org.pk).ok
            raise _Rollback
    except _Rollback:
        pass


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Receivable, ReceivableLine, JournalEntry, JournalLine, AuditEntry)
    }


def _batch(
    org: Organisation, department: Department, line: BudgetLine, numbers: list[int]
) -> list[NewReceivable]:
    scheme = Scheme.of(org)
    return [
        NewReceivable(
            department=department,
            lines=[LineInput(text="Hundesteuer", amount_cents=9600, budget_line=line)],
            purpose="Hundesteuer 2027",
            debtor=Debtor(name="Jürgen Müller"),
            kassenzeichen=scheme.build(year=2026, number=n),
        )
        for n in numbers
    ]


def test_the_batch_is_audited_once_naming_every_receivable(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    with clock.frozen(at):
        ids = create_receivables_bulk(
            actor=ACTOR,
            organisation=org,
            receivables=_batch(org, department, budget_line, [1, 2, 3]),
            source=ReceivableSource.IMPORT,
            audit_context={"open_item_import": 7},
        )
    first = Receivable.objects.get(pk=ids[0])
    assert (first.created_at, first.updated_at, first.due_date) == (at, at, dt.date(2026, 12, 1))
    assert first.lines.get().booking_data == {}
    entry = AuditEntry.objects.get(action="receivable.created_in_bulk")
    assert entry.organisation_id == org.pk
    assert entry.after == {
        "count": 3,
        "amount_cents": 28800,
        "source": "import",
        "receivable_ids": id_ranges(ids),
        "lines": [[budget_line.code, 28800]],
        "open_item_import": 7,
    }
    assert [r.status for r in Receivable.objects.filter(pk__in=ids)] == ["open"] * 3


def test_id_ranges_name_every_id_exactly() -> None:
    assert id_ranges([1, 2, 3, 7, 9, 10]) == [[1, 3], [7, 7], [9, 10]]
    assert id_ranges([]) == []


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"kassenzeichen": "26-000001-0"}, "0.kassenzeichen", "Prüfziffer"),
        ({"purpose": "  "}, "0.purpose", "Zweck"),
        ({"debtor": Debtor(name=" ")}, "0.debtor.name", "Namen"),
    ],
)
def test_a_refused_receivable_leaves_the_whole_batch_unwritten(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    change: dict[str, Any],
    key: str,
    message: str,
) -> None:
    batch = _batch(org, department, budget_line, [1, 2])
    batch[0] = dataclasses.replace(batch[0], **change)
    before = _counts()
    with pytest.raises(ValidationFailed) as refused:
        create_receivables_bulk(
            actor=ACTOR, organisation=org, receivables=batch, source=ReceivableSource.IMPORT
        )
    assert message in refused.value.errors[key]
    assert _counts() == before


def test_kassenzeichen_twice_in_the_batch_or_taken_already_are_refused(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    factories.receivable(
        org, department, budget_line, kassenzeichen=Scheme.of(org).build(year=2026, number=5)
    )
    before = _counts()
    with pytest.raises(ValidationFailed) as refused:
        create_receivables_bulk(
            actor=ACTOR,
            organisation=org,
            receivables=_batch(org, department, budget_line, [1, 5, 1]),
            source=ReceivableSource.IMPORT,
        )
    assert refused.value.errors == {
        "1.kassenzeichen": "Dieses Kassenzeichen ist bereits vergeben.",
        "2.kassenzeichen": "Dieses Kassenzeichen steht schon auf Forderung 0 des Stapels.",
    }
    assert _counts() == before


def test_another_organisations_department_or_budget_line_is_refused(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    other = factories.organisation()
    batch = _batch(org, factories.department(other), factories.budget_line(other), [1])
    with pytest.raises(ValidationFailed) as refused:
        create_receivables_bulk(
            actor=ACTOR, organisation=org, receivables=batch, source=ReceivableSource.IMPORT
        )
    assert set(refused.value.errors) == {"0.department", "0.lines.0.budget_line"}
    assert not Receivable.objects.filter(organisation=org).exists()
