"""Applications: submitting a citizen's form, and following the payment of its fee.

Invariants kept here:
- the fee is computed by the server from the validated answers (`catalogue.services.quote`);
- one filled-in form gives one application: the same submission key returns the first one, so a
  double click or a reloaded confirmation page submits once;
- a service paid before submission gets its receivable in the same transaction as the
  application, which waits for payment and counts as submitted from the moment the receivable
  is paid (whoever paid it: provider, bank transfer, cash desk);
- services without payment, or paid after the decision, are submitted at once;
- every write leaves an audit entry; a submitted application is confirmed to the applicant by
  e-mail (a task, after the commit) when they gave an address.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.catalogue import services as catalogue
from rathauskasse.catalogue.models import PaymentPolicy, Service
from rathauskasse.core import audit, clock
from rathauskasse.core.errors import Conflict, ValidationFailed
from rathauskasse.core.tasks import enqueue
from rathauskasse.receivables import services as receivables
from rathauskasse.receivables.models import ReceivableSource


@dataclass(frozen=True, slots=True)
class Applicant:
    name: str
    email: str = ""


def check_applicant(applicant: Applicant) -> dict[str, str]:
    """Errors of the applicant's own details, keyed like the portal's fields."""
    errors: dict[str, str] = {}
    if not applicant.name.strip():
        errors["applicant_name"] = "Bitte geben Sie Ihren Vor- und Nachnamen an."
    elif len(applicant.name.strip()) > 200:
        errors["applicant_name"] = "Der Name darf höchstens 200 Zeichen lang sein."
    if applicant.email:
        try:
            validate_email(applicant.email)
        except DjangoValidationError:
            errors["applicant_email"] = (
                "Bitte geben Sie eine E-Mail-Adresse ein, z. B. name@beispiel.de."
            )
    return errors


def review(*, service: Service, data: Mapping[str, Any], applicant: Applicant) -> catalogue.Quote:
    """Validate everything a citizen entered and compute the fee; nothing is written.

    Raises `ValidationFailed` with every problem at once, for the error summary.
    """
    errors = check_applicant(applicant)
    try:
        quote = catalogue.quote(service=service, data=data)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return quote


def needs_payment(service: Service, fee_cents: int) -> bool:
    return service.payment_policy == PaymentPolicy.BEFORE_SUBMIT and fee_cents > 0


@transaction.atomic
def submit_application(
    *,
    actor: audit.Actor,
    service: Service,
    data: Mapping[str, Any],
    applicant: Applicant,
    submission_key: str,
    user_id: int | None = None,
) -> Application:
    """Create the application (and the receivable of a fee to pay before submission)."""
    existing = Application.objects.filter(
        organisation_id=service.organisation_id, submission_key=submission_key
    ).first()
    if existing is not None:
        return existing
    if not service.is_active:
        raise Conflict(f"„{service.name}“ kann zurzeit nicht online beantragt werden.")
    quote = review(service=service, data=data, applicant=applicant)
    now = clock.now()
    application = Application(
        organisation_id=service.organisation_id,
        service=service,
        answers=quote.answers,
        applicant_name=applicant.name.strip(),
        applicant_email=applicant.email.strip(),
        user_id=user_id,
        fee_cents=quote.fee.total_cents,
        submission_key=submission_key,
        created_at=now,
    )
    if needs_payment(service, quote.fee.total_cents):
        assert service.budget_line is not None  # a charging service has one (Service.clean)
        breakdown = "; ".join(line.text for line in quote.fee.lines)
        application.receivable = receivables.create_receivable(
            actor=actor,
            organisation=service.organisation,
            department=service.department,
            service=service,
            lines=[
                receivables.LineInput(
                    text=f"{service.name}: {breakdown}",
                    amount_cents=quote.fee.total_cents,
                    budget_line=service.budget_line,
                )
            ],
            purpose=f"{service.name} {application.reference}",
            debtor=receivables.Debtor(name=application.applicant_name, email=applicant.email),
            source=ReceivableSource.APPLICATION,
            source_reference=application.reference,
        )
        application.status = ApplicationStatus.AWAITING_PAYMENT
    else:
        application.status = ApplicationStatus.SUBMITTED
        application.submitted_at = now
    application.save()
    if application.status == ApplicationStatus.SUBMITTED:
        _confirm(application.pk)
    audit.record(
        actor=actor,
        action="application.created",
        obj=application,
        organisation_id=application.organisation_id,
        after={
            "reference": application.reference,
            "service": service.slug,
            "status": application.status,
            "fee_cents": application.fee_cents,
        },
    )
    return application


def on_receivables_paid(
    *,
    organisation_id: int,
    receivable_ids: Iterable[int],
    sources: Mapping[int, str] | None = None,
    **_: object,
) -> None:
    """Receiver of `receivables_paid`: an application waiting for its fee is now submitted."""
    ids = [
        pk
        for pk in receivable_ids
        if sources is None or sources.get(pk) == ReceivableSource.APPLICATION
    ]
    if not ids:
        return  # notices, API receivables: no query on the payment's hot path
    waiting = list(
        Application.objects.filter(
            organisation_id=organisation_id,
            receivable_id__in=ids,
            status=ApplicationStatus.AWAITING_PAYMENT,
        ).values_list("pk", "reference")
    )
    if not waiting:
        return
    Application.objects.filter(pk__in=[pk for pk, _ in waiting]).update(
        status=ApplicationStatus.SUBMITTED, submitted_at=clock.now()
    )
    for pk, reference in waiting:
        _confirm(pk)
        audit.record(
            actor=audit.SYSTEM,
            action="application.submitted",
            object_type="applications.application",
            object_id=pk,
            organisation_id=organisation_id,
            before={"status": ApplicationStatus.AWAITING_PAYMENT},
            after={"status": ApplicationStatus.SUBMITTED, "reference": reference},
        )


def _confirm(application_id: int) -> None:
    from rathauskasse.applications import tasks  # noqa: PLC0415 - tasks import the models

    enqueue(tasks.send_confirmation, application_id)


@transaction.atomic
def claim_applications(*, user_id: int, public_ids: Iterable[str]) -> int:
    """Give a guest's applications (from this browser session) to the account just logged in."""
    return audit.give_to_user(
        Application.objects.all(),
        user_id=user_id,
        public_ids=public_ids,
        action="application.claimed",
    )
