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
#: Delays between the status polls of a payment whose provider does not notify: short at first,
#: when most payers finish, then every `RECHECK_AFTER`, until the payment is finished or expires
#: (from then on `check_payment` looks after it).
POLL_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=2),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=10),
    RECHECK_AFTER,
)
#: When a payment stopped here while its provider still had it open is looked at again, after
#: the stop, for a late success.
LATE_CHECKS = (dt.timedelta(hours=1), dt.timedelta(days=1))


def poll_delay(attempt: int) -> dt.timedelta:
    """The delay before poll number `attempt` (0 is the first, counted from the creation)."""
    return POLL_DELAYS[min(attempt, len(POLL_DELAYS) - 1)]


def schedule_polls(payment: Payment) -> None:
    """Start the status polls of a payment; call it in the transaction that creates it."""
    enqueue(poll_payment, payment.pk, 0, run_after=payment.created_at + poll_delay(0))


def schedule_late_checks(payment: Payment) -> None:
    enqueue(look_for_late_success, payment.pk, 0, run_after=clock.now() + LATE_CHECKS[0])


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
def poll_payment(payment_id: int, attempt: int) -> str:
    """Ask the provider how an unfinished payment stands; plan the next poll while it is open.

    Polling stops at the payment's expiry: `check_payment` settles it then, and keeps looking
    at a payment the provider still processes.
    """
    payment = Payment.objects.get(pk=payment_id)
    if payment.is_finished or clock.now() >= payment.expires_at:
        return str(payment.status)
    try:
        payment = services.sync_payment(payment=payment)
    except services.ProviderFailed:
        logger.warning("payment %s: provider unreachable, polling again later", payment.public_id)
    next_at = clock.now() + poll_delay(attempt + 1)
    if not payment.is_finished and next_at < payment.expires_at:
        enqueue(poll_payment, payment.pk, attempt + 1, run_after=next_at)
    return str(payment.status)


@task()
def look_for_late_success(payment_id: int, attempt: int) -> bool:
    """A payment stopped here while open at its provider: did the payer pay there after all?"""
    payment = Payment.objects.get(pk=payment_id)
    again = services.look_for_late_success(payment=payment)
    if again and attempt + 1 < len(LATE_CHECKS):
        delay = LATE_CHECKS[attempt + 1] - LATE_CHECKS[attempt]
        enqueue(look_for_late_success, payment.pk, attempt + 1, run_after=clock.now() + delay)
    return again


@task()
def retry_refund(refund_id: int) -> str:
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    refund = services.execute_refund(refund=refund, actor=audit.SYSTEM)
    return str(refund.status)


@task()
def send_receipt(payment_id: int) -> bool:
    return receipts.send_receipt(payment=Payment.objects.get(pk=payment_id))
