"""Meine Anträge und Zahlungen: what a citizen with an account did on this portal."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from rathauskasse.applications import selectors as application_selectors
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.portal.tenancy import organisation_of


@require_safe
@login_required
def mine(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    user_id = request.user.pk
    assert user_id is not None  # login_required
    return render(
        request,
        "portal/mine.html",
        {
            "applications": application_selectors.applications_of_user(
                organisation=organisation, user_id=user_id
            )[:100],
            "payments": payment_selectors.payments_of_user(
                organisation=organisation, user_id=user_id
            )[:100],
        },
    )
