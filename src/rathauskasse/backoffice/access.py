"""Who may use a back-office page, and for which organisation.

The organisation is the one of the host name, as in the portal (decision 0013); a member of
another organisation sees nothing of this one. Until the back-office issue brings the full role
model, each page names the roles it admits: the clearing queue admits the cash office and the
organisation's administrators.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from rathauskasse.core.errors import NotFound
from rathauskasse.organisations import selectors
from rathauskasse.organisations.models import Organisation, Role

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, Organisation, P], HttpResponse]
Wrapped = Callable[Concatenate[HttpRequest, P], HttpResponse]

CASH_OFFICE = (Role.CASH_OFFICE, Role.ADMINISTRATOR)
STAFF = tuple(Role)


def organisation_of(request: HttpRequest) -> Organisation:
    try:
        return selectors.portal_organisation(
            host=request.get_host().rsplit(":", 1)[0], default_slug=settings.PORTAL_ORGANISATION
        )
    except NotFound as exc:
        raise Http404(str(exc)) from None


def roles_of(request: HttpRequest, organisation: Organisation) -> set[str]:
    user_id = request.user.pk
    if user_id is None:
        return set()
    return {m.role for m in selectors.memberships(organisation=organisation, user_id=int(user_id))}


def requires(*roles: Role) -> Callable[[View[P]], Wrapped[P]]:
    """The view runs for a signed-in member of the host's organisation with one of `roles`."""

    def decorate(view: View[P]) -> Wrapped[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("backoffice:login"))
            organisation = organisation_of(request)
            if not roles_of(request, organisation) & set(roles):
                return render(
                    request,
                    "backoffice/forbidden.html",
                    {"organisation": organisation, "roles": [Role(r).label for r in roles]},
                    status=403,
                )
            request.backoffice_organisation = organisation  # type: ignore[attr-defined]
            return view(request, organisation, *args, **kwargs)

        return wrapper

    return decorate
