"""Apply and pay in one go: form → review with fee and payment method → provider → result.

The form's answers live in the session (a draft) until the citizen confirms; the draft's token
is the submission key, so confirming twice submits once. A declined payment brings the citizen
back to the application, where another attempt needs no new form.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from rathauskasse.applications import selectors as application_selectors
from rathauskasse.applications import services as applications
from rathauskasse.applications.models import Application, ApplicationStatus
from rathauskasse.catalogue import selectors as catalogue
from rathauskasse.catalogue.models import Service
from rathauskasse.core.errors import DomainError, NotFound, ValidationFailed
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import PaymentStatus
from rathauskasse.portal import checkout, fields, session
from rathauskasse.portal.tenancy import organisation_of


def _service(request: HttpRequest, slug: str) -> tuple[Organisation, Service]:
    organisation = organisation_of(request)
    try:
        return organisation, catalogue.get_offered_service(organisation=organisation, slug=slug)
    except NotFound as exc:
        raise Http404(str(exc)) from None


def _applicant(data: dict[str, Any]) -> applications.Applicant:
    return applications.Applicant(
        name=str(data.get("applicant_name", "")).strip(),
        email=str(data.get("applicant_email", "")).strip(),
    )


@require_http_methods(["GET", "POST"])
def apply_form(request: HttpRequest, slug: str) -> HttpResponse:
    _, service = _service(request, slug)
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = {
            key: request.POST.get(key, "") for key in request.POST if key != "csrfmiddlewaretoken"
        }
        try:
            applications.review(service=service, data=data, applicant=_applicant(data))
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            token = session.new_draft(request, service_slug=service.slug, data=data)
            return HttpResponseRedirect(reverse("portal:apply-review", args=[service.slug, token]))
    elif "entwurf" in request.GET:
        data = session.get_draft(request, service_slug=slug, token=request.GET["entwurf"]) or {}
    applicant = fields.applicant_fields(data, errors)
    answers = fields.service_fields(service.fields, data, errors)
    return render(
        request,
        "portal/apply_form.html",
        {
            "service": service,
            "applicant_fields": applicant,
            "service_fields": answers,
            "error_list": fields.error_list([*applicant, *answers], errors),
        },
        status=422 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def apply_review(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    organisation, service = _service(request, slug)
    data = session.get_draft(request, service_slug=slug, token=token)
    if data is None:
        messages.warning(
            request,
            _("Ihre Eingaben sind nicht mehr vorhanden. Bitte füllen Sie das Formular aus."),
        )
        return HttpResponseRedirect(reverse("portal:apply", args=[slug]))
    applicant = _applicant(data)
    try:
        quote = applications.review(service=service, data=data, applicant=applicant)
    except ValidationFailed:
        return HttpResponseRedirect(reverse("portal:apply", args=[slug]) + f"?entwurf={token}")
    to_pay = applications.needs_payment(service, quote.fee.total_cents)
    methods = checkout.methods_for_service(service) if to_pay else []
    error = method_error = ""
    if request.method == "POST":
        method = request.POST.get("method", "")
        if to_pay and method not in dict(methods):
            method_error = _("Bitte wählen Sie, wie Sie bezahlen möchten.")
        else:
            try:
                application = applications.submit_application(
                    actor=checkout.actor_of(request),
                    service=service,
                    data=data,
                    applicant=applicant,
                    submission_key=token,
                    user_id=request.user.pk if request.user.is_authenticated else None,
                )
                session.remember(request, session.OWNED_APPLICATIONS, str(application.public_id))
                if application.status != ApplicationStatus.AWAITING_PAYMENT:
                    return _to_application(application)
                return _pay_application(request, organisation, application, method, token)
            except DomainError as exc:
                error = exc.message
    by_name = {f.name: f for f in service.fields}
    return render(
        request,
        "portal/apply_review.html",
        {
            "service": service,
            "token": token,
            "applicant": applicant,
            "answers": [
                (f.label, fields.display_answer(f, quote.answers.get(f.name)))
                for f in by_name.values()
            ],
            "fee": quote.fee,
            "to_pay": to_pay,
            "methods": methods,
            "error": error,
            "method_error": method_error,
            "error_list": [{"id": "zahlart", "message": method_error}] if method_error else [],
        },
        status=422 if error or method_error else 200,
    )


def _to_application(application: Application) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:application", args=[application.public_id]))


def _pay_application(
    request: HttpRequest,
    organisation: Organisation,
    application: Application,
    method: str,
    key: str,
) -> HttpResponseRedirect:
    receivable = application.receivable
    assert receivable is not None
    key = f"application:{application.pk}:{key}"
    repeated = checkout.resume(organisation=organisation, idempotency_key=key)
    if repeated is not None:
        return repeated
    payments.abandon_unfinished(receivable=receivable, actor=checkout.actor_of(request))
    application.refresh_from_db()
    if application.status != ApplicationStatus.AWAITING_PAYMENT:
        return _to_application(application)  # the abandoned attempt had gone through after all
    return checkout.pay(
        request,
        organisation=organisation,
        allocations=[payments.AllocationInput(receivable=receivable)],
        method=method,
        email=application.applicant_email,
        idempotency_key=key,
    )


def _own_application(request: HttpRequest, public_id: str) -> tuple[Organisation, Application]:
    organisation = organisation_of(request)
    try:
        application = application_selectors.get_application(
            organisation=organisation, public_id=public_id
        )
    except NotFound as exc:
        raise Http404(str(exc)) from None
    mine = request.user.is_authenticated and application.user_id == request.user.pk
    if not mine and not session.owns(request, session.OWNED_APPLICATIONS, str(public_id)):
        # Answers are personal data: only the browser that applied, or the account, sees them.
        raise Http404(_("Diesen Antrag gibt es nicht."))
    return organisation, application


@require_http_methods(["GET"])
def application_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    _organisation, application = _own_application(request, public_id)
    service = application.service
    receivable = application.receivable
    attempts = list(payment_selectors.payments_for(receivable=receivable)) if receivable else []
    waiting = application.status == ApplicationStatus.AWAITING_PAYMENT
    pending = any(p.status == PaymentStatus.PENDING for p in attempts)
    return render(
        request,
        "portal/application.html",
        {
            "application": application,
            "service": service,
            "answers": [
                (f.label, fields.display_answer(f, application.answers.get(f.name)))
                for f in service.fields
            ],
            "attempts": attempts,
            "waiting": waiting,
            "pending": pending,
            "methods": checkout.methods_for_service(service) if waiting and not pending else [],
            "attempt_key": secrets.token_urlsafe(12),
        },
    )


@require_POST
def application_pay(request: HttpRequest, public_id: str) -> HttpResponse:
    organisation, application = _own_application(request, public_id)
    if application.status != ApplicationStatus.AWAITING_PAYMENT:
        return _to_application(application)
    method = request.POST.get("method", "")
    key = request.POST.get("attempt", "")[:40]
    if method not in dict(checkout.methods_for_service(application.service)) or not key:
        messages.error(request, _("Bitte wählen Sie, wie Sie bezahlen möchten."))
        return _to_application(application)
    try:
        return _pay_application(request, organisation, application, method, key)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _to_application(application)
