"""The service catalogue (/leistungen/) and each service's page."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from rathauskasse.applications.services import needs_payment
from rathauskasse.catalogue import selectors
from rathauskasse.catalogue.models import PaymentPolicy
from rathauskasse.core.errors import NotFound
from rathauskasse.portal.tenancy import organisation_of


@require_safe
def service_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    groups = selectors.catalogue(organisation=organisation_of(request), query=query)
    return render(
        request,
        "portal/service_list.html",
        {"groups": groups, "query": query, "count": sum(len(g.services) for g in groups)},
    )


@require_safe
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        service = selectors.get_offered_service(organisation=organisation_of(request), slug=slug)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    return render(
        request,
        "portal/service_detail.html",
        {
            "service": service,
            "fee_text": service.fee_rule.describe(service.fields),
            "pays_before": needs_payment(service, 1) and not service.is_free,
            "pays_after": service.payment_policy == PaymentPolicy.AFTER_DECISION,
        },
    )
