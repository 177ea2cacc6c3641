"""Pay a notice (/bezahlen/): by Kassenzeichen, several at once in a basket, or by pay link.

The pay link of a letter (`/p/<token>/`) opens a page of that notice alone: its lines, online
payment, and the GiroCode again with the bank details in words.

A guest sees only what identifies a notice (purpose, department, open amount, due date), never
the debtor. Lookups are rate-limited per client so that nobody can walk through Kassenzeichen.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from rathauskasse.core import epcqr, iso11649, qr, ratelimit
from rathauskasse.core.errors import DomainError, NotFound
from rathauskasse.core.money import Money
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import services as payments
from rathauskasse.portal import checkout, session
from rathauskasse.portal.tenancy import organisation_of
from rathauskasse.receivables import notices
from rathauskasse.receivables import selectors as receivables
from rathauskasse.receivables.models import Receivable, ReceivableStatus

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class BasketItem:
    receivable: Receivable
    open_cents: int

    @property
    def partly_paid(self) -> bool:
        return self.open_cents < self.receivable.amount_cents


def _basket(request: HttpRequest, organisation: Organisation) -> list[BasketItem]:
    """The basket as it is now: what was paid or cancelled meanwhile drops out."""
    wanted = session.basket(request)
    if not wanted:
        return []  # no query, and no session written for a visitor who only looks
    found = receivables.with_details(organisation=organisation, receivable_ids=wanted)
    open_cents = receivables.open_amounts(
        organisation=organisation, receivable_ids=[r.pk for r in found]
    )
    items = [
        BasketItem(r, open_cents[r.pk])
        for r in found
        if r.status == ReceivableStatus.OPEN and open_cents[r.pk] > 0
    ]
    kept = [item.receivable.pk for item in items]
    if kept != wanted:
        session.set_basket(request, kept)
    return items


def _refusal(receivable: Receivable, open_cents: int) -> str:
    """Why this receivable cannot be paid now, in words; empty when it can."""
    if receivable.status == ReceivableStatus.CANCELLED:
        return _(
            "Der Bescheid mit dem Kassenzeichen %(kz)s wurde aufgehoben. "
            "Sie müssen nichts bezahlen."
        ) % {"kz": receivable.kassenzeichen_display}
    if open_cents <= 0:
        if receivable.paid_at:
            return _(
                "Der Bescheid mit dem Kassenzeichen %(kz)s ist bereits bezahlt (am %(date)s)."
            ) % {
                "kz": receivable.kassenzeichen_display,
                "date": receivable.paid_at.astimezone(BERLIN).strftime("%d.%m.%Y"),
            }
        return _("Der Bescheid mit dem Kassenzeichen %(kz)s ist bereits bezahlt.") % {
            "kz": receivable.kassenzeichen_display
        }
    return ""


def _page(
    request: HttpRequest,
    organisation: Organisation,
    *,
    entered: str = "",
    error: str = "",
    pay_error: str = "",
    status: int = 200,
) -> HttpResponse:
    items = _basket(request, organisation)
    methods = checkout.methods_for([item.receivable for item in items])
    return render(
        request,
        "portal/pay.html",
        {
            "items": items,
            "total": Money(sum(item.open_cents for item in items)),
            "methods": methods,
            "entered": entered,
            "error": error,
            "pay_error": pay_error,
            "error_list": ([{"id": "kassenzeichen", "message": error}] if error else [])
            + ([{"id": "zahlart", "message": pay_error}] if pay_error else []),
            "attempt_key": secrets.token_urlsafe(12),
            "basket_full": len(items) >= session.MAX_BASKET,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def pay_notices(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    if request.method == "GET":
        return _page(request, organisation)
    entered = request.POST.get("kassenzeichen", "").strip()[:60]
    if not entered:
        return _page(
            request,
            organisation,
            error=_("Bitte geben Sie das Kassenzeichen von Ihrem Bescheid ein."),
            status=422,
        )
    verdict = ratelimit.hit(
        key="kz-lookup:" + ratelimit.client_key(request.META.get("REMOTE_ADDR")),
        limit=settings.PORTAL_LOOKUP_LIMIT,
    )
    if not verdict.allowed:
        response = _page(
            request,
            organisation,
            entered=entered,
            error=_(
                "Sie haben in kurzer Zeit sehr viele Kassenzeichen gesucht. Zum Schutz der "
                "Bescheide warten Sie bitte %(seconds)s Sekunden und versuchen es dann erneut."
            )
            % {"seconds": verdict.retry_after},
            status=429,
        )
        response["Retry-After"] = str(verdict.retry_after)
        return response
    try:
        receivable = receivables.find_by_kassenzeichen(organisation=organisation, text=entered)
    except NotFound:
        return _page(
            request,
            organisation,
            entered=entered,
            error=_(
                "Zu diesem Kassenzeichen haben wir keinen Bescheid gefunden. Bitte vergleichen "
                "Sie Ihre Eingabe mit dem Kassenzeichen auf Ihrem Bescheid."
            ),
            status=404,
        )
    except DomainError as exc:  # malformed: wrong length, check digit, characters
        return _page(request, organisation, entered=entered, error=exc.message, status=422)
    refusal = _refusal(receivable, receivables.open_amount(receivable=receivable))
    if refusal:
        return _page(request, organisation, entered=entered, error=refusal, status=409)
    if not session.add_to_basket(request, receivable.pk):
        return _page(
            request,
            organisation,
            entered=entered,
            error=_("Sie können höchstens %(n)s Bescheide zusammen bezahlen.")
            % {"n": session.MAX_BASKET},
            status=422,
        )
    messages.success(
        request,
        _("Kassenzeichen %(kz)s hinzugefügt.") % {"kz": receivable.kassenzeichen_display},
    )
    return HttpResponseRedirect(reverse("portal:pay"))


def _pay_link_receivable(request: HttpRequest, token: str) -> tuple[Organisation, Receivable]:
    organisation = organisation_of(request)
    try:
        receivable = receivables.find_by_pay_token(organisation=organisation, token=token)
    except NotFound as exc:
        raise Http404(str(exc)) from None
    return organisation, receivable


def _notice_page(
    request: HttpRequest,
    receivable: Receivable,
    open_cents: int,
    *,
    pay_error: str = "",
    status: int = 200,
) -> HttpResponse:
    transfer = notices.girocode_for(receivable=receivable, open_cents=open_cents)
    return render(
        request,
        "portal/pay_link.html",
        {
            "nav": "pay",
            "receivable": receivable,
            "lines": receivable.lines.all(),
            "open_cents": open_cents,
            "partly_paid": open_cents < receivable.amount_cents,
            "methods": checkout.methods_for([receivable]),
            "pay_error": pay_error,
            "error_list": [{"id": "zahlart", "message": pay_error}] if pay_error else [],
            "attempt_key": secrets.token_urlsafe(12),
            "transfer": transfer,
            "iban_groups": " ".join(
                transfer.iban[i : i + 4] for i in range(0, len(transfer.iban), 4)
            ),
            "reference_groups": iso11649.display(transfer.reference) if transfer.reference else "",
        },
        status=status,
    )


@require_safe
def pay_link(request: HttpRequest, token: str) -> HttpResponse:
    """The page the QR code on a letter opens: the notice, online payment, and the GiroCode."""
    receivable = _pay_link_receivable(request, token)[1]
    open_cents = receivables.open_amount(receivable=receivable)
    refusal = _refusal(receivable, open_cents)
    if refusal:
        messages.info(request, refusal)
        return HttpResponseRedirect(reverse("portal:pay"))
    return _notice_page(request, receivable, open_cents)


@require_POST
def pay_link_checkout(request: HttpRequest, token: str) -> HttpResponse:
    """Pay this one notice (whatever else may be in the basket)."""
    organisation, receivable = _pay_link_receivable(request, token)
    open_cents = receivables.open_amount(receivable=receivable)
    refusal = _refusal(receivable, open_cents)
    if refusal:
        messages.info(request, refusal)
        return HttpResponseRedirect(reverse("portal:pay"))
    method, email, key, error = _payment_form(request, checkout.methods_for([receivable]))
    if error:
        return _notice_page(request, receivable, open_cents, pay_error=error, status=422)
    try:
        return checkout.pay(
            request,
            organisation=organisation,
            allocations=[payments.AllocationInput(receivable=receivable)],
            method=method,
            email=email,
            idempotency_key=f"link:{key}",
        )
    except DomainError as exc:
        return _notice_page(request, receivable, open_cents, pay_error=exc.message, status=409)


@require_safe
def pay_link_girocode(request: HttpRequest, token: str) -> HttpResponse:
    """The GiroCode of the open amount as an SVG image, for the banking app."""
    receivable = _pay_link_receivable(request, token)[1]
    open_cents = receivables.open_amount(receivable=receivable)
    if _refusal(receivable, open_cents):
        raise Http404(_("Für diesen Bescheid ist nichts mehr zu zahlen."))
    transfer = notices.girocode_for(receivable=receivable, open_cents=open_cents)
    image = qr.svg(epcqr.qr_code(transfer), title=_("GiroCode für die Überweisung"))
    response = HttpResponse(image, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, no-store"  # the open amount changes with each payment
    return response


@require_POST
def remove(request: HttpRequest) -> HttpResponse:
    try:
        receivable_id = int(request.POST.get("receivable", ""))
    except ValueError:
        return HttpResponseRedirect(reverse("portal:pay"))
    session.set_basket(request, [pk for pk in session.basket(request) if pk != receivable_id])
    return HttpResponseRedirect(reverse("portal:pay"))


@require_POST
def checkout_basket(request: HttpRequest) -> HttpResponse:
    organisation = organisation_of(request)
    items = _basket(request, organisation)
    if not items:
        messages.error(request, _("Bitte fügen Sie zuerst ein Kassenzeichen hinzu."))
        return HttpResponseRedirect(reverse("portal:pay"))
    method, email, key, error = _payment_form(
        request, checkout.methods_for([item.receivable for item in items])
    )
    if error:
        return _page(request, organisation, pay_error=error, status=422)
    try:
        response = checkout.pay(
            request,
            organisation=organisation,
            allocations=[payments.AllocationInput(receivable=item.receivable) for item in items],
            method=method,
            email=email,
            idempotency_key=f"basket:{key}",
        )
    except DomainError as exc:
        return _page(request, organisation, pay_error=exc.message, status=409)
    session.set_basket(request, [])
    return response


def _payment_form(
    request: HttpRequest, methods: list[tuple[str, str]]
) -> tuple[str, str, str, str]:
    """Method, e-mail and attempt key of a payment form, and what is wrong with them ("" if
    nothing)."""
    method = request.POST.get("method", "")
    email = request.POST.get("email", "").strip()
    key = request.POST.get("attempt", "")[:40]
    error = ""
    if method not in dict(methods) or not key:
        error = _("Bitte wählen Sie, wie Sie bezahlen möchten.")
    elif email and not _valid_email(email):
        error = _("Bitte geben Sie eine E-Mail-Adresse ein, z. B. name@beispiel.de.")
    return method, email, key, error


def _valid_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True
