"""Starting a payment from the portal: which methods to offer, and sending the payer off."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from rathauskasse.catalogue.models import PaymentMethod, Service
from rathauskasse.core import audit
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import registry
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import PaymentStatus
from rathauskasse.portal import session
from rathauskasse.receivables.models import Receivable


def actor_of(request: HttpRequest) -> audit.Actor:
    if request.user.is_authenticated:
        return audit.Actor.user(request.user)
    return audit.Actor(label="portal")


def _methods(services: Sequence[Service | None]) -> list[tuple[str, str]]:
    offered = set(registry.get_provider(settings.PORTAL_PAYMENT_PROVIDER).capabilities.methods)
    for service in services:
        if service is not None and service.payment_methods:
            offered &= set(service.payment_methods)
    return [(value, str(label)) for value, label in PaymentMethod.choices if value in offered]


def methods_for(receivables: Sequence[Receivable]) -> list[tuple[str, str]]:
    """The methods the portal's provider offers and every receivable's service allows."""
    return _methods([receivable.service for receivable in receivables])


def methods_for_service(service: Service) -> list[tuple[str, str]]:
    return _methods([service])


def _key(idempotency_key: str) -> str:
    return f"portal:{idempotency_key}"


def resume(*, organisation: Organisation, idempotency_key: str) -> HttpResponseRedirect | None:
    """The same attempt again (a double click, a reload): where that payment stands, if any."""
    payment = payment_selectors.find_by_idempotency_key(
        organisation=organisation, key=_key(idempotency_key)
    )
    if payment is None:
        return None
    if payment.status == PaymentStatus.STARTED and payment.redirect_url:
        return HttpResponseRedirect(payment.redirect_url)
    return HttpResponseRedirect(reverse("portal:payment", args=[payment.public_id]))


def pay(
    request: HttpRequest,
    *,
    organisation: Organisation,
    allocations: Sequence[payments.AllocationInput],
    method: str,
    email: str,
    idempotency_key: str,
) -> HttpResponseRedirect:
    """Create the payment (once per key), register it at the provider, send the payer there."""
    public_id = uuid.uuid4()
    return_url = settings.SITE_URL + reverse("portal:payment", args=[public_id])
    actor = actor_of(request)
    payment = payments.create_payment(
        actor=actor,
        organisation=organisation,
        allocations=allocations,
        provider=settings.PORTAL_PAYMENT_PROVIDER,
        method=method,
        return_url=return_url,
        idempotency_key=_key(idempotency_key),
        payer_email=email,
        user_id=request.user.pk if request.user.is_authenticated else None,
        public_id=public_id,
    )
    session.remember(request, session.OWNED_PAYMENTS, str(payment.public_id))
    if payment.is_finished or payment.status == PaymentStatus.PENDING:
        # A repeated click on a payment that already went through: show where it stands.
        return HttpResponseRedirect(reverse("portal:payment", args=[payment.public_id]))
    return HttpResponseRedirect(payments.start_payment(payment=payment, actor=actor))
