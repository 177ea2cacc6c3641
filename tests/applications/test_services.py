"""Applications: one per filled-in form, submitted when the fee is paid, whoever paid it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rathauskasse.applications import services
from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.catalogue.models import Service
from rathauskasse.core.errors import Conflict, ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services as payments
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.models import ReceivableSource, ReceivableStatus
from tests import factories

pytestmark = pytest.mark.django_db

ERIKA = services.Applicant(name="Erika Mustermann", email="erika@example.org")


@pytest.fixture
def service(org: Organisation, department: Department, budget_line: BudgetLine) -> Service:
    return factories.service(org, department, budget_line)


def submit(service: Service, key: str = "k1", **data: str) -> Application:
    return services.submit_application(
        actor=factories.ACTOR,
        service=service,
        data={"name": "Erika", "pages": "3", **data},
        applicant=ERIKA,
        submission_key=key,
    )


def test_a_fee_to_pay_first_creates_the_receivable_and_waits(service: Service) -> None:
    application = submit(service)
    assert application.status == ApplicationStatus.AWAITING_PAYMENT
    assert application.fee_cents == 1500
    receivable = application.receivable
    assert receivable is not None
    assert receivable.amount_cents == 1500
    assert receivable.source == ReceivableSource.APPLICATION
    assert receivable.source_reference == application.reference
    assert receivable.debtor_name == "Erika Mustermann"
    assert receivable.lines.get().budget_line == service.budget_line
    assert (
        ledger_selectors.open_item_balance(
            organisation_id=service.organisation_id, open_item_id=receivable.pk
        )
        == 1500
    )
    assert AuditEntry.objects.filter(action="application.created").count() == 1


def test_the_same_submission_key_gives_the_same_application(service: Service) -> None:
    first = submit(service)
    again = submit(service, pages="7")
    assert again.pk == first.pk
    assert Application.objects.count() == 1


def test_invalid_answers_and_applicant_write_nothing(service: Service) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.submit_application(
            actor=factories.ACTOR,
            service=service,
            data={"pages": "0"},
            applicant=services.Applicant(name=" ", email="kaputt"),
            submission_key="k",
        )
    assert set(caught.value.errors) == {"applicant_name", "applicant_email", "name", "pages"}
    assert Application.objects.count() == 0


def test_an_inactive_service_takes_no_application(service: Service) -> None:
    Service.objects.filter(pk=service.pk).update(is_active=False)
    service.refresh_from_db()
    with pytest.raises(Conflict):
        submit(service)


def test_paying_the_receivable_submits_the_application(service: Service) -> None:
    application = submit(service)
    assert application.receivable is not None
    payment = factories.payment(service.organisation, application.receivable)
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.submitted_at is not None
    assert AuditEntry.objects.filter(action="application.submitted").count() == 1


def test_a_partial_payment_does_not_submit(service: Service) -> None:
    application = submit(service)
    assert application.receivable is not None
    payment = payments.create_payment(
        actor=factories.ACTOR,
        organisation=service.organisation,
        allocations=[payments.AllocationInput(application.receivable, 500)],
        provider="sandbox",
        method="card",
    )
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.AWAITING_PAYMENT


@pytest.mark.parametrize(
    ("overrides", "fee"),
    [
        ({"fee_kind": "free", "payment_policy": "none"}, 0),
        ({"payment_policy": "after_decision"}, 1500),
    ],
)
def test_without_payment_first_the_application_is_submitted_at_once(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    overrides: dict[str, str],
    fee: int,
) -> None:
    service = factories.service(org, department, budget_line, **overrides)
    application = submit(service)
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.receivable is None
    assert application.fee_cents == fee


def test_a_guests_applications_are_claimed_once(service: Service, clerk: object) -> None:
    application = submit(service)
    user_id = clerk.pk  # type: ignore[attr-defined]
    assert services.claim_applications(user_id=user_id, public_ids=[str(application.public_id)])
    other = factories.organisation()
    assert other  # claiming again, or by someone else, changes nothing
    assert (
        services.claim_applications(user_id=user_id, public_ids=[str(application.public_id)]) == 0
    )
    application.refresh_from_db()
    assert application.user_id == user_id


def test_receivables_announce_once_that_they_became_paid(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    from rathauskasse.receivables.signals import receivables_paid

    heard: list[list[int]] = []

    def listen(*, receivable_ids: list[int], **_: object) -> None:
        heard.append(list(receivable_ids))

    receivables_paid.connect(listen)
    try:
        receivable = factories.receivable(org, department, budget_line, 1000)
        payment = factories.payment(org, receivable)
        payments.confirm_payment(
            payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
        )
        receivable_services.sync_status(organisation_id=org.pk, receivable_ids=[receivable.pk])
    finally:
        receivables_paid.disconnect(listen)
    assert heard == [[receivable.pk]]  # the second sync changes nothing and says nothing
    receivable.refresh_from_db()
    assert receivable.status == ReceivableStatus.PAID
    assert receivable.paid_at is not None


def test_the_applicant_gets_a_confirmation_once_the_application_is_submitted(
    service: Service, run_tasks: Callable[[], list[str]], mailoutbox: list[Any]
) -> None:
    application = submit(service)
    run_tasks()
    assert mailoutbox == []  # not yet: the fee is not paid
    assert application.receivable is not None
    payment = factories.payment(service.organisation, application.receivable)
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    assert "send_confirmation" in run_tasks()
    assert [m.subject for m in mailoutbox] == [
        f"Ihr Antrag {application.reference} ist eingegangen"
    ]
    assert mailoutbox[0].to == ["erika@example.org"]
