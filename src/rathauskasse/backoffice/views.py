"""Back-office pages: signing in and out, the overview. Each page calls selectors or one service."""

from __future__ import annotations

from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from rathauskasse.backoffice import forms
from rathauskasse.backoffice.access import CASH_OFFICE, STAFF, organisation_of, requires, roles_of
from rathauskasse.core import ratelimit
from rathauskasse.organisations.models import Organisation, Role
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.reconciliation import selectors as reconciliation_selectors

#: Failed sign-ins allowed per client address and per user name in a quarter of an hour.
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 15 * 60


def _safe_next(request: HttpRequest, target: str) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/verwaltung/"


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    general = ""
    if request.method == "POST":
        username = str(request.POST.get("username", ""))[:150].casefold()
        verdicts = [
            ratelimit.hit(
                key=f"backoffice-login:{kind}:{value}",
                limit=LOGIN_ATTEMPTS,
                window_seconds=LOGIN_WINDOW_SECONDS,
            )
            for kind, value in (
                ("addr", ratelimit.client_key(request.META.get("REMOTE_ADDR"))),
                ("user", username),
            )
        ]
        blocked = [v for v in verdicts if not v.allowed]
        if blocked:
            minutes = max(1, -(-max(v.retry_after for v in blocked) // 60))
            general = _(
                "Zu viele Anmeldeversuche. Bitte versuchen Sie es in %(minutes)d Minuten erneut."
            ) % {"minutes": minutes}
            form = AuthenticationForm(request)
        elif form.is_valid():
            auth_login(request, form.get_user())
            return redirect(next_url)
        else:
            general = " ".join(str(e) for e in form.non_field_errors())
    username_error = (
        " ".join(str(e) for e in form.errors.get("username", [])) if form.is_bound else ""
    )
    password_error = (
        " ".join(str(e) for e in form.errors.get("password", [])) if form.is_bound else ""
    )
    fields = [
        forms.field(
            "username",
            _("Benutzername"),
            value=form.data.get("username", "") if form.is_bound else "",
            error=username_error,
            required=True,
            autocomplete="username",
        ),
        forms.field(
            "password",
            _("Passwort"),
            error=password_error,
            required=True,
            input_type="password",
            autocomplete="current-password",
        ),
    ]
    return render(
        request,
        "backoffice/login.html",
        {
            "organisation": organisation,
            "fields": fields,
            "error_list": forms.error_list(fields, general),
            "summary_title": _("Anmeldung fehlgeschlagen") if general else "",
            "next": next_url,
        },
        status=429 if general and not form.is_bound else (422 if form.is_bound else 200),
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("backoffice:login")


@never_cache
@requires(*STAFF)
def home(request: HttpRequest, organisation: Organisation) -> HttpResponse:
    roles = roles_of(request, organisation)
    return render(
        request,
        "backoffice/home.html",
        {
            "organisation": organisation,
            "nav": "home",
            "roles": sorted(Role(r).label for r in roles),
            "is_cash_office": bool(roles & set(CASH_OFFICE)),
            "summary": receivable_selectors.open_summary(organisation=organisation),
            "clearing": reconciliation_selectors.queue_counts(organisation=organisation),
            "admin_url": reverse("admin:index") if request.user.is_staff else "",
        },
    )
