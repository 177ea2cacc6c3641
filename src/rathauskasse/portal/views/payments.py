"""The return page after the provider, the receipt, and trying again.

The page shows what the server knows. When the payment is not finished yet it asks the provider
(the notification may still be on its way), and refreshes itself, also without JavaScript.
"""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from rathauskasse.applications import selectors as application_selectors
from rathauskasse.core.errors import NotFound
from rathauskasse.payments import receipts
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.portal import session
from rathauskasse.portal.tenancy import organisation_of
from rathauskasse.receivables.models import ReceivableStatus

REFRESH_SECONDS = 3


def _payment(request: HttpRequest, public_id: str) -> Payment:
    try:
        return payment_selectors.get_payment(
            organisation=organisation_of(request), public_id=public_id
        )
    except NotFound as exc:
        raise Http404(str(exc)) from None


@require_safe
def payment_status(request: HttpRequest, public_id: str) -> HttpResponse:
    payment = _payment(request, public_id)
    if not payment.is_finished:
        # Unreachable provider: show what we know; the page asks again on its next refresh.
        with contextlib.suppress(payments.ProviderFailed):
            payment = payments.sync_payment(payment=payment)
    allocations = list(payment_selectors.allocations(payment=payment))
    application = application_selectors.application_paid_by(
        receivable_ids=[a.receivable_id for a in allocations]
    )
    status = PaymentStatus(payment.status)
    waiting = status in (PaymentStatus.CREATED, PaymentStatus.STARTED, PaymentStatus.PENDING)
    # The page reloads itself while waiting, by HTTP header (no script needed); the payer can
    # switch that off (WCAG 2.2.1) and reload by hand.
    refresh = waiting and request.GET.get("aktualisieren") != "aus"
    response = render(
        request,
        "portal/payment.html",
        {
            "payment": payment,
            "status": status,
            "allocations": allocations,
            "application": application,
            "waiting": waiting,
            "refresh": refresh,
            "refresh_seconds": REFRESH_SECONDS,
        },
    )
    if refresh:
        response["Refresh"] = str(REFRESH_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def receipt(request: HttpRequest, public_id: str) -> HttpResponse:
    payment = _payment(request, public_id)
    try:
        data = receipts.receipt_for(payment)
    except receipts.NoReceipt as exc:
        raise Http404(str(exc)) from None
    response = HttpResponse(receipts.render_receipt(data), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{data.filename}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
def retry(request: HttpRequest, public_id: str) -> HttpResponse:
    """Put the notices of a failed payment back into the basket, to pay them again."""
    payment = _payment(request, public_id)
    if payment.is_finished and payment.status != PaymentStatus.SUCCEEDED:
        still_open = [
            a.receivable_id
            for a in payment_selectors.allocations(payment=payment)
            if a.receivable.status == ReceivableStatus.OPEN
        ]
        session.set_basket(request, [*still_open, *session.basket(request)])
        messages.info(request, _("Sie können die Zahlung jetzt noch einmal starten."))
    return HttpResponseRedirect(reverse("portal:pay"))
