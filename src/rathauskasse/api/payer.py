"""The payer's start link of a payment made over the REST API (its `next_url`, decision 0020).

The API creates the payment and answers at once; the payment is registered at its provider only
here, when the payer arrives, so that the integrator's request never waits for the provider.
Coming back later (the payer reloads, the link is opened twice) sends the payer to the same
provider page: `start_payment` is idempotent. A payment that cannot be started (finished, pending,
refused by the provider, provider unreachable) sends the payer back to the integrator's
`return_url`, where the integrator reads the payment's status over the API as after any payment.
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from rathauskasse.core import audit
from rathauskasse.core.errors import DomainError
from rathauskasse.payments import selectors, services
from rathauskasse.payments.models import PaymentStatus

PAYER = audit.Actor(label="payer")


@never_cache
@require_GET  # not HEAD: a link checker's HEAD must not register the payment at the provider
def start(_request: HttpRequest, public_id: uuid.UUID) -> HttpResponseRedirect:
    payment = selectors.payment_for_payer(public_id=public_id)
    if payment is None:
        raise Http404("Diese Zahlung gibt es nicht.")
    if payment.status in (PaymentStatus.CREATED, PaymentStatus.STARTED):
        try:
            return HttpResponseRedirect(services.start_payment(payment=payment, actor=PAYER))
        except DomainError:
            # Refused (the payment is failed now), the provider unreachable (still created: the
            # link works again later), or moved on meanwhile: the integrator's page tells.
            pass
    if not payment.return_url:
        raise Http404("Diese Zahlung kann nicht mehr begonnen werden.")
    return HttpResponseRedirect(payment.return_url)
