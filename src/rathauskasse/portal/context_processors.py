from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject

from rathauskasse.organisations.models import Organisation
from rathauskasse.portal.tenancy import organisation_of


def portal(request: HttpRequest) -> dict[str, Any]:
    """The organisation for the portal's header and footer, looked up only when a page uses it."""

    def lookup() -> Organisation | None:
        try:
            return organisation_of(request)
        except Http404:
            return None

    match = request.resolver_match
    name = ""
    if match and match.namespace == "portal":
        name = match.url_name or ""
    elif match and (match.url_name or "").startswith("account_"):
        name = "account"
    return {"portal_organisation": SimpleLazyObject(lookup), "nav": _NAV.get(name or "", "")}


_NAV = {
    "services": "services",
    "service": "services",
    "apply": "services",
    "apply-review": "services",
    "pay": "pay",
    "mine": "mine",
    "account": "account",
}
