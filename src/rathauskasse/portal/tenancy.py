"""Which organisation's portal a request is for (by host name, see organisations.selectors)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations import selectors
from rathauskasse.organisations.models import Organisation


def organisation_of(request: HttpRequest) -> Organisation:
    cached: Organisation | None = getattr(request, "_portal_organisation", None)
    if cached is not None:
        return cached
    try:
        organisation = selectors.portal_organisation(
            host=request.get_host().rsplit(":", 1)[0], default_slug=settings.PORTAL_ORGANISATION
        )
    except NotFound as exc:
        raise Http404(str(exc)) from None
    request._portal_organisation = organisation  # type: ignore[attr-defined]
    return organisation
