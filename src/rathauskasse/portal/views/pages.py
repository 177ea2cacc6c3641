"""The start page and the legal pages (texts edited in the admin, per organisation)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from rathauskasse.portal.tenancy import organisation_of

LEGAL_PAGES = {
    "impressum": ("imprint", _("Impressum")),
    "datenschutz": ("privacy_policy", _("Datenschutz")),
    "barrierefreiheit": ("accessibility_statement", _("Erklärung zur Barrierefreiheit")),
}


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    organisation_of(request)
    return render(request, "portal/home.html")


@require_safe
def legal(request: HttpRequest, page: str) -> HttpResponse:
    if page not in LEGAL_PAGES:
        raise Http404
    field, title = LEGAL_PAGES[page]
    organisation = organisation_of(request)
    text: str = getattr(organisation, field)
    paragraphs = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return render(
        request,
        "portal/legal.html",
        {"title": title, "paragraphs": [p for p in paragraphs if p]},
    )
