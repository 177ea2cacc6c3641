"""Background work of the payments domain."""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from rathauskasse.core import audit, clock
from rathauskasse.core.tasks import enqueue
from rathauskasse.payments import receipts, services
from rathauskasse.payments.models import Payment, Refund

logger = logging.getLogger(__name__)

#: How often an unfinished payment is looked at again while its provider has not decided.
RECHECK_AFTER = dt.timedelta(minutes=30)


@task()
def check_payment(payment_id: int) -> str:
    """At a payment's expiry: recover its state from the provider, or stop it.

    Runs again later while the provider keeps it pending (a direct debit can take days).
    """
    payment = Payment.objects.get(pk=payment_id)
    try:
        if clock.now() >= payment.expires_at:
            payment = services.settle_expired(payment=payment)
        else:
            payment = services.sync_payment(payment=payment)
    except services.ProviderFailed:
        logger.warning("payment %s: provider unreachable, checking again later", payment.public_id)
    if not payment.is_finished:
        enqueue(check_payment, payment.pk, run_after=clock.now() + RECHECK_AFTER)
    return str(payment.status)


@task()
def retry_refund(refund_id: int) -> str:
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    refund = services.execute_refund(refund=refund, actor=audit.SYSTEM)
    return str(refund.status)


@task()
def send_receipt(payment_id: int) -> bool:
    return receipts.send_receipt(payment=Payment.objects.get(pk=payment_id))
