"""Payments: creation, the state machine, provider reports, refunds.

Invariants kept here:
- a payment pays one or more receivables of its own organisation that are neither cancelled nor
  (unless they allow overpayment) paid, each at most its open amount, with a method that both
  the provider and the receivable's service allow; its amount is the sum of its allocations;
- every status change goes through one named function (`start_payment`, `mark_pending`,
  `confirm_payment`, `fail_payment`, `cancel_payment`, `expire_payment`) that locks the payment
  row, checks the transition against `TRANSITIONS`, writes one `PaymentEvent` and an audit entry;
  asking for the status the payment already has changes nothing, so the same provider report
  delivered twice, or a notification racing a status poll, books exactly once (the database
  backs this with a unique event per status and a unique journal key per payment);
- a succeeded payment is posted "debit provider clearing, credit Receivables per receivable" in
  the same transaction as the status change, and the receivables' status follows the ledger;
- no provider is called while a row lock is held; a provider fault leaves the payment in a state
  from which `sync_payment` (a status poll) recovers it; a provider that refuses a payment for
  good fails it;
- a payment is started with its items: every allocation spread over its receivable's lines in
  proportion (largest remainder), so the items add up to the payment's amount to the cent;
- a provider that does not notify is polled on a schedule from the payment's creation until the
  payment is finished or its expiry check takes over;
- refunds never exceed what was paid minus what is refunded or being refunded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Sum
from django.urls import reverse

from rathauskasse.core import audit, clock, sql
from rathauskasse.core.errors import DomainError, ValidationFailed
from rathauskasse.core.money import Money
from rathauskasse.core.tasks import enqueue
from rathauskasse.events import services as events
from rathauskasse.events.models import EventType
from rathauskasse.ledger import rules
from rathauskasse.ledger import services as ledger
from rathauskasse.ledger.models import EntryKind
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import registry
from rathauskasse.payments.contract import (
    BookingKey,
    InvalidNotification,
    Notification,
    ProviderRefused,
    ProviderState,
    ProviderUnavailable,
    RefundRequest,
    StartItem,
    StartRequest,
    StatusReport,
)
from rathauskasse.payments.models import (
    TERMINAL,
    TRANSITIONS,
    EventSource,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundAllocation,
    RefundState,
    RefundStatus,
)
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.models import Receivable, ReceivableLine

logger = logging.getLogger(__name__)


class PaymentRefused(DomainError):
    code = "payment_refused"


class TransitionNotAllowed(DomainError):
    code = "payment_transition_not_allowed"
    status = 409


class ProviderFailed(DomainError):
    code = "provider_unavailable"
    status = 503


class NotificationRejected(DomainError):
    code = "invalid_notification"
    status = 400


class RefundRefused(DomainError):
    code = "refund_refused"


@dataclass(frozen=True, slots=True)
class AllocationInput:
    receivable: Receivable
    #: None pays the whole open amount.
    amount_cents: int | None = None


# --- creating -------------------------------------------------------------------------------


@transaction.atomic
def create_payment(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    allocations: Sequence[AllocationInput],
    provider: str,
    method: str,
    return_url: str = "",
    description: str = "",
    idempotency_key: str | None = None,
    payer_email: str = "",
    user_id: int | None = None,
    public_id: uuid.UUID | None = None,
    locked: bool = False,
) -> Payment:
    """Create a payment for one or more receivables; the same idempotency key returns the first.

    `public_id` may be chosen by the caller, so that `return_url` can already name the payment.
    `locked`: the caller has read the allocations' receivables `select_for_update` in the
    transaction this runs in (in id order); they are taken as they are, without a look-up here.
    """
    if idempotency_key is not None:
        existing = Payment.objects.filter(
            organisation=organisation, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing
    capabilities = registry.get_provider(provider).capabilities
    if method not in capabilities.methods:
        raise PaymentRefused(
            f"Der Zahlungsdienst bietet die Zahlart „{method}“ nicht an.", field="method"
        )
    if not allocations:
        raise ValidationFailed({"receivables": "Wählen Sie mindestens eine Forderung."})
    ids = [a.receivable.pk for a in allocations]
    if len(set(ids)) != len(ids):
        raise ValidationFailed({"receivables": "Jede Forderung darf nur einmal vorkommen."})

    # Lock the receivables (in id order, against deadlocks) so none is cancelled meanwhile.
    if locked:
        by_id = {a.receivable.pk: a.receivable for a in allocations}
    else:
        by_id = {
            r.pk: r
            for r in Receivable.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        }
    open_cents = receivable_selectors.open_amounts(organisation=organisation, receivable_ids=ids)
    rows: list[tuple[Receivable, int]] = []
    for requested in allocations:
        receivable = by_id[requested.receivable.pk]
        receivable_services.ensure_payable(receivable, organisation)
        amount = (
            open_cents[receivable.pk] if requested.amount_cents is None else requested.amount_cents
        )
        if type(amount) is not int or amount <= 0:
            raise PaymentRefused(
                f"Für {receivable.kassenzeichen} ist kein Betrag offen.", field="amount_cents"
            )
        if amount > open_cents[receivable.pk] and not receivable.allows_overpayment:
            raise PaymentRefused(
                f"Für {receivable.kassenzeichen} sind nur "
                f"{Money(max(open_cents[receivable.pk], 0)).format_de()} offen.",
                field="amount_cents",
            )
        service = receivable.service
        if (
            service is not None
            and service.payment_methods
            and method not in service.payment_methods
        ):
            raise PaymentRefused(
                f"Die Zahlart „{method}“ ist für „{service.name}“ nicht vorgesehen.", field="method"
            )
        rows.append((receivable, amount))

    now = clock.now()
    payment = Payment(
        public_id=public_id or uuid.uuid4(),
        organisation=organisation,
        amount_cents=sum(amount for _, amount in rows),
        description=(description or _describe(rows))[:140],
        provider=provider,
        method=method,
        return_url=return_url,
        idempotency_key=idempotency_key,
        payer_email=payer_email,
        user_id=user_id,
        created_at=now,
        updated_at=now,
        expires_at=now + dt.timedelta(minutes=settings.PAYMENT_EXPIRY_MINUTES),
    )
    # The payment with its allocations in one statement on PostgreSQL (core.sql, decision 0011):
    # the same rows the ORM would write, with the model's defaults, compiled once.
    payment.pk = sql.insert_with_children(
        Payment,
        {
            f.attname: getattr(payment, f.attname)
            for f in Payment._meta.concrete_fields
            if not f.primary_key
        },
        child=PaymentAllocation,
        link="payment_id",
        rows=[{"receivable_id": r.pk, "amount_cents": a} for r, a in rows],
    )
    payment._state.adding, payment._state.db = False, DEFAULT_DB_ALIAS
    sql.insert(
        PaymentEvent,
        {
            "payment_id": payment.pk,
            "created_at": now,
            "kind": "created",
            "from_status": "",
            "to_status": PaymentStatus.CREATED,
            "source": EventSource.CLIENT,
            "provider_event_id": "",
            "data": {"amount_cents": payment.amount_cents, "receivables": ids},
        },
    )
    audit.record(
        actor=actor,
        action="payment.created",
        obj=payment,
        organisation_id=organisation.pk,
        after={"amount_cents": payment.amount_cents, "provider": provider, "method": method},
    )
    from rathauskasse.payments import tasks  # noqa: PLC0415 - tasks import this module

    enqueue(tasks.check_payment, payment.pk, run_after=payment.expires_at)
    if not capabilities.notifies:
        # Created once per payment, with the payment: also a start whose answer was lost is
        # found by these polls (by our payment id).
        tasks.schedule_polls(payment)
    return payment


def _describe(rows: Sequence[tuple[Receivable, int]]) -> str:
    if len(rows) == 1:
        receivable = rows[0][0]
        return f"{receivable.kassenzeichen} {receivable.purpose}"
    return "Kassenzeichen " + ", ".join(r.kassenzeichen for r, _ in rows)


# --- the state machine ----------------------------------------------------------------------


def _transition(
    *,
    payment: Payment,
    to: PaymentStatus,
    source: EventSource,
    actor: audit.Actor,
    provider_event_id: str = "",
    data: Mapping[str, Any] | None = None,
    failure_reason: str = "",
    provider_reference: str = "",
    redirect_url: str = "",
) -> Payment:
    """Move the payment to `to` exactly once; a repeat is a no-op, a forbidden move an error.

    Optimistic concurrency: the status is changed by `UPDATE ... WHERE status = <what we saw>`.
    A racing writer blocks on that row until the first commits, then matches no row, reads the
    payment again and finds it already moved. The state machine has no cycles, so this ends.
    """
    current = PaymentStatus(payment.status)
    fresh = False
    while True:
        if current == to:
            return payment if fresh else Payment.objects.get(pk=payment.pk)
        if to not in TRANSITIONS[current]:
            raise TransitionNotAllowed(
                f"Eine Zahlung im Status „{current.label}“ kann nicht "
                f"„{PaymentStatus(to).label}“ werden."
            )
        now = clock.now()
        changes: dict[str, Any] = {"status": to, "updated_at": now}
        if failure_reason:
            changes["failure_reason"] = failure_reason[:200]
        if redirect_url:
            changes["redirect_url"] = redirect_url
        with transaction.atomic(savepoint=False):
            moved = sql.update(Payment, where={"id": payment.pk, "status": current}, values=changes)
            if moved:
                if provider_reference:  # the first reference a provider gives is kept
                    sql.update(
                        Payment,
                        where={"id": payment.pk, "provider_reference": ""},
                        values={"provider_reference": provider_reference},
                    )
                sql.insert(
                    PaymentEvent,
                    {
                        "payment_id": payment.pk,
                        "created_at": now,
                        "kind": "status_changed",
                        "from_status": current,
                        "to_status": to,
                        "source": source,
                        "provider_event_id": provider_event_id,
                        "data": dict(data or {}),
                    },
                )
                paid = _post_success(payment, actor) if to == PaymentStatus.SUCCEEDED else []
                if to in TERMINAL:  # the payment's event, then its receivables', in one INSERT
                    payment_event = {
                        "payment": str(payment.public_id),
                        "status": str(to),
                        "amount_cents": payment.amount_cents,
                        "failure_reason": failure_reason[:200],
                    }
                    events.record_many(
                        organisation_id=payment.organisation_id,
                        events=[
                            (EventType(f"payment.{to}"), payment_event),
                            *(receivable_services.paid_event(pk) for pk in paid),
                        ],
                    )
                audit.record(
                    actor=actor,
                    action=f"payment.{to}",
                    object_type="payments.payment",
                    object_id=payment.pk,
                    organisation_id=payment.organisation_id,
                    before={"status": current},
                    after={"status": to, "source": source},
                )
        if moved:
            payment.status, payment.updated_at = to, now
            payment.failure_reason = changes.get("failure_reason", payment.failure_reason)
            payment.provider_reference = payment.provider_reference or provider_reference
            payment.redirect_url = redirect_url or payment.redirect_url
            return payment
        payment = Payment.objects.get(pk=payment.pk)  # someone else moved it first
        current, fresh = PaymentStatus(payment.status), True


def _lock_allocations(payment_id: int) -> list[tuple[int, int]]:
    """(receivable id, cents) of a payment's allocations, its receivables locked in id order."""
    quote = connection.ops.quote_name
    allocations = quote(PaymentAllocation._meta.db_table)
    receivables = quote(Receivable._meta.db_table)
    lock = " FOR UPDATE OF r" if connection.features.has_select_for_update_of else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.receivable_id, a.amount_cents FROM {allocations} a "  # noqa: S608 - names are ours
            f"JOIN {receivables} r ON r.id = a.receivable_id WHERE a.payment_id = %s "
            f"ORDER BY r.id{lock}",
            [payment_id],
        )
        return [(int(rid), int(cents)) for rid, cents in cursor.fetchall()]


def _post_success(payment: Payment, actor: audit.Actor) -> list[int]:
    """Post the payment and update its receivables; returns the receivables it made paid."""
    # Reading the allocations also locks their receivables (in id order), so `sync_status`
    # below needs no lock statement of its own: one round trip fewer on the hot path.
    allocations = _lock_allocations(payment.pk)
    ledger.post(
        assume_new=True,  # this transition happens once, so its posting cannot exist yet
        organisation_id=payment.organisation_id,
        kind=EntryKind.PAYMENT_SUCCEEDED,
        text=f"Zahlung {payment.provider} {payment.description}",
        lines=rules.payment_succeeded(provider=payment.provider, allocations=allocations),
        idempotency_key=f"payment:{payment.pk}:succeeded",
        reference=f"payment:{payment.public_id}",
        actor=actor,
    )
    paid = receivable_services.sync_status(
        organisation_id=payment.organisation_id,
        receivable_ids=[rid for rid, _ in allocations],
        locked=True,
        record_events=False,
    )
    if payment.payer_email:
        from rathauskasse.payments import tasks  # noqa: PLC0415 - tasks import this module

        enqueue(tasks.send_receipt, payment.pk)
    return paid


def start_payment(*, payment: Payment, actor: audit.Actor) -> str:
    """Register the payment at its provider and return the address to send the payer to.

    Calling it again for a started payment returns the same address (the payer came back).
    """
    if payment.status == PaymentStatus.STARTED and payment.redirect_url:
        return payment.redirect_url
    if payment.status != PaymentStatus.CREATED:
        raise TransitionNotAllowed(
            f"Eine Zahlung im Status „{payment.get_status_display()}“ kann nicht begonnen werden."
        )
    provider = registry.get_provider(payment.provider)
    request = StartRequest(
        payment_reference=str(payment.public_id),
        amount_cents=payment.amount_cents,
        description=payment.description,
        method=payment.method,
        return_url=payment.return_url,
        notify_url=settings.SITE_URL + reverse("provider-notify", args=[payment.provider]),
        expires_at=payment.expires_at,
        organisation_id=payment.organisation_id,
        items=start_items(payment),
    )
    try:
        result = provider.start(request)
    except ProviderRefused as exc:
        _refused_at_start(payment, exc, actor)
        raise PaymentRefused(
            "Der Zahlungsdienst hat die Zahlung nicht angenommen; es wurde nichts abgebucht. "
            "Bitte versuchen Sie es später noch einmal oder wenden Sie sich an die Verwaltung."
        ) from exc
    except ProviderUnavailable as exc:
        PaymentEvent.objects.create(
            payment=payment,
            created_at=clock.now(),
            kind="provider_error",
            source=EventSource.CLIENT,
            data={"operation": "start", "error": str(exc)[:500]},
        )
        raise ProviderFailed(
            "Der Zahlungsdienst ist gerade nicht erreichbar. "
            "Bitte versuchen Sie es gleich noch einmal."
        ) from exc
    _transition(
        payment=payment,
        to=PaymentStatus.STARTED,
        source=EventSource.CLIENT,
        actor=actor,
        provider_reference=result.provider_reference,
        redirect_url=result.redirect_url,
    )
    return result.redirect_url


def _refused_at_start(payment: Payment, exc: ProviderRefused, actor: audit.Actor) -> None:
    """The provider will not take the payment: record why, for the cash office, and fail it."""
    logger.warning(
        "payment %s: provider %s refused the start: %s %s",
        payment.public_id,
        payment.provider,
        exc.code or "-",
        exc.detail[:300],
    )
    with transaction.atomic():
        PaymentEvent.objects.create(
            payment=payment,
            created_at=clock.now(),
            kind="provider_refused",
            source=EventSource.CLIENT,
            data={"operation": "start", "code": exc.code, "detail": exc.detail[:500]},
        )
        fail_payment(
            payment=payment,
            source=EventSource.CLIENT,
            actor=actor,
            reason=f"provider_refused:{exc.code}" if exc.code else "provider_refused",
        )


# --- what a payment pays, item by item ------------------------------------------------------

#: The booking data keys that come from a budget line's own columns, in this order.
_BUDGET_LINE_COLUMNS = (
    (BookingKey.BUDGET_LINE, "code"),
    (BookingKey.PRODUCT, "product"),
    (BookingKey.ACCOUNT, "account"),
    (BookingKey.COST_CENTRE, "cost_centre"),
)


def start_items(payment: Payment) -> tuple[StartItem, ...]:
    """The payment's items for its provider, in the order of its allocations."""
    allocations = list(payment.allocations.select_related("receivable").order_by("id"))
    lines: dict[int, list[ReceivableLine]] = {a.receivable_id: [] for a in allocations}
    for line in (
        ReceivableLine.objects.filter(receivable_id__in=list(lines))
        .select_related("budget_line")
        .order_by("receivable_id", "position")
    ):
        lines[line.receivable_id].append(line)
    return items_for(
        [
            (
                a.receivable.kassenzeichen,
                a.receivable.purpose,
                a.amount_cents,
                lines[a.receivable_id],
            )
            for a in allocations
        ]
    )


def items_for(
    allocations: Sequence[tuple[str, str, int, Sequence[ReceivableLine]]],
) -> tuple[StartItem, ...]:
    """Items from (Kassenzeichen, purpose, allocated cents, the receivable's lines).

    An allocation that pays a receivable in part (or overpays it) is spread over its lines in
    proportion to their amounts by the largest remainder method, so that every allocation, and
    therefore the payment, is matched to the cent; a share of zero cents is left out.
    """
    items: list[StartItem] = []
    for kassenzeichen, purpose, amount_cents, receivable_lines in allocations:
        if not receivable_lines:  # every receivable has lines; this only guards the division
            items.append(StartItem(kassenzeichen, purpose, amount_cents, {}))
            continue
        shares = Money(amount_cents).allocate([line.amount_cents for line in receivable_lines])
        items.extend(
            StartItem(
                reference=kassenzeichen,
                description=line.text,
                amount_cents=share.cents,
                booking_data=booking_data_of(line),
            )
            for line, share in zip(receivable_lines, shares, strict=True)
            if share.cents
        )
    return tuple(items)


def booking_data_of(line: ReceivableLine) -> dict[str, str]:
    """Where a line is booked: its budget line's columns, then free data (the line's wins).

    A column that is set is never overridden by free data, so that the provider books on the
    budget line the ledger books on; free data only adds keys (or fills an empty column).
    """
    budget_line = line.budget_line
    data = {
        str(key): str(getattr(budget_line, column))
        for key, column in _BUDGET_LINE_COLUMNS
        if getattr(budget_line, column)
    }
    free = {**(budget_line.booking_data or {}), **(line.booking_data or {})}
    for key, value in free.items():
        if str(key) not in data and value is not None and value != "":
            data[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return data


def mark_pending(
    *, payment: Payment, source: EventSource, actor: audit.Actor, provider_event_id: str = ""
) -> Payment:
    return _transition(
        payment=payment,
        to=PaymentStatus.PENDING,
        source=source,
        actor=actor,
        provider_event_id=provider_event_id,
    )


def confirm_payment(
    *, payment: Payment, source: EventSource, actor: audit.Actor, provider_event_id: str = ""
) -> Payment:
    return _transition(
        payment=payment,
        to=PaymentStatus.SUCCEEDED,
        source=source,
        actor=actor,
        provider_event_id=provider_event_id,
    )


def fail_payment(
    *,
    payment: Payment,
    source: EventSource,
    actor: audit.Actor,
    reason: str = "",
    provider_event_id: str = "",
) -> Payment:
    return _transition(
        payment=payment,
        to=PaymentStatus.FAILED,
        source=source,
        actor=actor,
        provider_event_id=provider_event_id,
        failure_reason=reason,
    )


def cancel_payment(
    *, payment: Payment, source: EventSource, actor: audit.Actor, provider_event_id: str = ""
) -> Payment:
    return _transition(
        payment=payment,
        to=PaymentStatus.CANCELLED,
        source=source,
        actor=actor,
        provider_event_id=provider_event_id,
    )


def expire_payment(
    *, payment: Payment, source: EventSource, actor: audit.Actor, provider_event_id: str = ""
) -> Payment:
    return _transition(
        payment=payment,
        to=PaymentStatus.EXPIRED,
        source=source,
        actor=actor,
        provider_event_id=provider_event_id,
    )


# --- provider reports -----------------------------------------------------------------------


def apply_report(*, payment: Payment, report: StatusReport, source: EventSource) -> Payment:
    """Bring the payment in line with what its provider reports; never books twice."""
    actor = audit.Actor(label=f"provider:{payment.provider}")
    if report.amount_cents != payment.amount_cents:
        _record_anomaly(payment, source, report, "amount_mismatch")
        return payment
    if report.provider_reference and not payment.provider_reference:
        # The provider knew the payment before we learnt its reference (a lost start answer).
        Payment.objects.filter(pk=payment.pk, provider_reference="").update(
            provider_reference=report.provider_reference
        )
        payment.provider_reference = report.provider_reference
    try:
        # Provider states are named like ours, so a report is the transition of the same name.
        return _transition(
            payment=payment,
            to=PaymentStatus(report.state),
            source=source,
            actor=actor,
            provider_event_id=report.event_id,
            failure_reason=report.failure_reason,
        )
    except TransitionNotAllowed:
        current = Payment.objects.get(pk=payment.pk)
        if report.state in (ProviderState.STARTED, ProviderState.PENDING):
            return current  # an older report overtaken by a newer one: nothing to do
        # Two different outcomes, e.g. a success reported after the payment expired here: keep
        # the record, book nothing, and leave it visible for the cash office.
        _record_anomaly(current, source, report, "state_conflict")
        return current


def _record_anomaly(payment: Payment, source: EventSource, report: StatusReport, kind: str) -> None:
    logger.warning(
        "payment %s: provider reported %s (%s cents), payment is %s (%s cents): %s",
        payment.public_id,
        report.state,
        report.amount_cents,
        payment.status,
        payment.amount_cents,
        kind,
    )
    with transaction.atomic():
        PaymentEvent.objects.create(
            payment=payment,
            created_at=clock.now(),
            kind=f"anomaly:{kind}",
            source=source,
            provider_event_id=report.event_id,
            data={"reported_state": report.state, "reported_amount_cents": report.amount_cents},
        )
        audit.record(
            actor=audit.Actor(label=f"provider:{payment.provider}"),
            action=f"payment.anomaly.{kind}",
            obj=payment,
            organisation_id=payment.organisation_id,
            after={"reported_state": report.state, "reported_amount_cents": report.amount_cents},
        )


def handle_notification(*, provider: str, headers: Mapping[str, str], body: bytes) -> Payment:
    """Verify a provider's notification and apply it; forged or replayed ones change nothing."""
    adapter = registry.get_provider(provider)
    try:
        report = adapter.parse_notification(Notification(headers=headers, body=body))
    except InvalidNotification as exc:
        logger.warning("rejected notification from %s: %s", provider, exc)
        raise NotificationRejected("Die Benachrichtigung ist ungültig.") from exc
    payment = (
        Payment.objects.filter(provider=provider, public_id=report.payment_reference).first()
        if _is_uuid(report.payment_reference)
        else None
    )
    if payment is None or (
        payment.provider_reference and payment.provider_reference != report.provider_reference
    ):
        raise NotificationRejected("Die Benachrichtigung betrifft keine bekannte Zahlung.")
    return apply_report(payment=payment, report=report, source=EventSource.NOTIFICATION)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def sync_payment(*, payment: Payment) -> Payment:
    """Ask the provider for the payment's state and apply it (the recovery path after faults).

    Raises `ProviderFailed` when the provider cannot be reached; nothing changes then.
    """
    if payment.is_finished:
        return payment
    adapter = registry.get_provider(payment.provider)
    try:
        report = adapter.poll(
            payment_reference=str(payment.public_id),
            provider_reference=payment.provider_reference,
            organisation_id=payment.organisation_id,
        )
    except ProviderUnavailable as exc:
        raise ProviderFailed("Der Zahlungsdienst ist gerade nicht erreichbar.") from exc
    if report is None:
        return payment
    return apply_report(payment=payment, report=report, source=EventSource.POLL)


def settle_expired(*, payment: Payment) -> Payment:
    """At expiry: take the provider's word if it has one, else stop the payment at the provider.

    A payment is never expired here while its provider may still take the money: the provider is
    asked to cancel first, and its answer (which may be a late success) is what counts.
    """
    payment = sync_payment(payment=payment)
    if payment.is_finished or payment.status == PaymentStatus.PENDING:
        return payment
    actor = audit.Actor(label="system")
    if not payment.provider_reference:
        return expire_payment(payment=payment, source=EventSource.SYSTEM, actor=actor)
    adapter = registry.get_provider(payment.provider)
    try:
        report = adapter.cancel(provider_reference=payment.provider_reference)
    except ProviderUnavailable as exc:
        raise ProviderFailed("Der Zahlungsdienst ist gerade nicht erreichbar.") from exc
    if report.state in (ProviderState.CANCELLED, ProviderState.STARTED):
        with transaction.atomic():
            expired = expire_payment(
                payment=payment,
                source=EventSource.SYSTEM,
                actor=actor,
                provider_event_id=report.event_id,
            )
            if report.state == ProviderState.STARTED:
                _watch_for_late_success(expired)
        return expired
    return apply_report(payment=payment, report=report, source=EventSource.POLL)


def abandon_payment(*, payment: Payment, actor: audit.Actor) -> Payment:
    """The payer gave up on an unfinished payment (to try again, or with another method).

    The provider is asked to stop it first; its answer counts, so a payment the payer did
    complete meanwhile ends as succeeded, never cancelled. A pending payment (the provider is
    deciding) cannot be abandoned: `TransitionNotAllowed`.
    """
    payment = sync_payment(payment=payment)
    if payment.is_finished:
        return payment
    if payment.status == PaymentStatus.PENDING:
        raise TransitionNotAllowed(
            "Diese Zahlung wird gerade vom Zahlungsdienst bearbeitet. Bitte warten Sie ab."
        )
    still_open_there = False
    if payment.provider_reference:
        adapter = registry.get_provider(payment.provider)
        try:
            report = adapter.cancel(provider_reference=payment.provider_reference)
        except ProviderUnavailable as exc:
            raise ProviderFailed("Der Zahlungsdienst ist gerade nicht erreichbar.") from exc
        if report.state not in (ProviderState.CANCELLED, ProviderState.STARTED):
            return apply_report(payment=payment, report=report, source=EventSource.POLL)
        still_open_there = report.state == ProviderState.STARTED
    with transaction.atomic():
        cancelled = cancel_payment(payment=payment, source=EventSource.CLIENT, actor=actor)
        if still_open_there:
            _watch_for_late_success(cancelled)
    return cancelled


def _watch_for_late_success(payment: Payment) -> None:
    """The provider could not stop the payment (it still reports it started, e.g. a standard
    without a cancel operation), so the payer may still pay there after we stopped it here.
    Look again later; a late success is then recorded as an anomaly for the cash office.
    Call it in the transaction of the local stop."""
    from rathauskasse.payments import tasks  # noqa: PLC0415 - tasks import this module

    tasks.schedule_late_checks(payment)


def look_for_late_success(*, payment: Payment) -> bool:
    """Ask the provider about a payment stopped here while it was still open there.

    Returns whether to look again (the provider still has it open, or could not be reached).
    A success is applied, which on a finished payment records a `state_conflict` anomaly.
    """
    adapter = registry.get_provider(payment.provider)
    try:
        report = adapter.poll(
            payment_reference=str(payment.public_id),
            provider_reference=payment.provider_reference,
            organisation_id=payment.organisation_id,
        )
    except ProviderUnavailable:
        return True
    if report is None:
        return False
    if report.state == ProviderState.SUCCEEDED:
        apply_report(payment=payment, report=report, source=EventSource.POLL)
        return False
    return report.state in (ProviderState.STARTED, ProviderState.PENDING)


def abandon_unfinished(*, receivable: Receivable, actor: audit.Actor) -> None:
    """Before a new attempt to pay `receivable`: stop the attempts the payer left unfinished.

    Pending payments (the provider is deciding) are left alone; one that went through meanwhile
    ends as succeeded, and the receivable is then paid.
    """
    unfinished = Payment.objects.filter(
        organisation_id=receivable.organisation_id, allocations__receivable=receivable
    ).exclude(status__in=[*TERMINAL, PaymentStatus.PENDING])
    for payment in unfinished:
        abandon_payment(payment=payment, actor=actor)


@transaction.atomic
def claim_payments(*, user_id: int, public_ids: Sequence[str]) -> int:
    """Give a guest's payments (from this browser session) to the account just logged in."""
    return audit.give_to_user(
        Payment.objects.all(), user_id=user_id, public_ids=public_ids, action="payment.claimed"
    )


# --- refunds --------------------------------------------------------------------------------


def refundable_cents(payment: Payment) -> int:
    """What may still be refunded: paid minus refunds that succeeded or are under way."""
    taken = (
        payment.refunds.exclude(status=RefundState.FAILED).aggregate(total=Sum("amount_cents"))[
            "total"
        ]
        or 0
    )
    return payment.amount_cents - taken


def refund_payment(
    *, actor: audit.Actor, payment: Payment, amount_cents: int, reason: str
) -> Refund:
    """Refund (part of) a succeeded payment through its provider and post it."""
    refund = _create_refund(actor=actor, payment=payment, amount_cents=amount_cents, reason=reason)
    return execute_refund(refund=refund, actor=actor)


@transaction.atomic
def _create_refund(
    *, actor: audit.Actor, payment: Payment, amount_cents: int, reason: str
) -> Refund:
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if locked.status != PaymentStatus.SUCCEEDED:
        raise RefundRefused("Erstattet werden kann nur eine erfolgreiche Zahlung.")
    provider = registry.get_provider(locked.provider)
    capabilities = provider.capabilities
    if not capabilities.refunds:
        raise RefundRefused(
            f"Zahlungen über „{provider.name}“ können hier nicht erstattet werden, weil der "
            "Zahlungsdienst keine Erstattung anbietet. "
            "Bitte erstatten Sie den Betrag per Überweisung."
        )
    if type(amount_cents) is not int or amount_cents <= 0:
        raise ValidationFailed({"amount_cents": "Der Betrag muss größer als 0 sein."})
    available = refundable_cents(locked)
    if amount_cents > available:
        raise RefundRefused(
            f"Höchstens {Money(available).format_de()} können noch erstattet werden.",
            field="amount_cents",
        )
    if amount_cents != locked.amount_cents and not capabilities.partial_refunds:
        raise RefundRefused("Dieser Zahlungsdienst erstattet nur den vollen Betrag.")
    if not reason.strip():
        raise ValidationFailed({"reason": "Bitte nennen Sie den Grund der Erstattung."})
    now = clock.now()
    refund = Refund.objects.create(
        payment=locked,
        amount_cents=amount_cents,
        reason=reason.strip()[:200],
        created_at=now,
        updated_at=now,
    )
    RefundAllocation.objects.bulk_create(
        [
            RefundAllocation(refund=refund, receivable_id=rid, amount_cents=cents)
            for rid, cents in _allocate_refund(locked, amount_cents)
            if cents
        ]
    )
    audit.record(
        actor=actor,
        action="refund.requested",
        obj=refund,
        organisation_id=locked.organisation_id,
        after={"payment": str(locked.public_id), "amount_cents": amount_cents, "reason": reason},
    )
    return refund


def _allocate_refund(payment: Payment, amount_cents: int) -> list[tuple[int, int]]:
    """Spread a refund over the payment's receivables in proportion to what is left of each."""
    paid = dict(payment.allocations.values_list("receivable_id", "amount_cents"))
    refunded = dict(
        RefundAllocation.objects.filter(refund__payment=payment)
        .exclude(refund__status=RefundState.FAILED)
        .values("receivable_id")
        .annotate(total=Sum("amount_cents"))
        .values_list("receivable_id", "total")
    )
    ids = sorted(paid)
    remaining = [paid[rid] - refunded.get(rid, 0) for rid in ids]
    parts = Money(amount_cents).allocate(remaining)
    return [(rid, part.cents) for rid, part in zip(ids, parts, strict=True)]


def _record_refund(refund: Refund, payment: Payment, type_: EventType) -> None:
    events.record(
        organisation_id=payment.organisation_id,
        type=type_,
        data={
            "refund": str(refund.public_id),
            "payment": str(payment.public_id),
            "amount_cents": refund.amount_cents,
            "status": refund.status,
        },
    )


def execute_refund(*, refund: Refund, actor: audit.Actor) -> Refund:
    """Send a pending refund to the provider and record the outcome.

    A provider fault leaves it pending (it is retried with the same reference, which the
    provider treats as the same refund).
    """
    if refund.status != RefundState.PENDING:
        return refund
    payment = refund.payment
    adapter = registry.get_provider(payment.provider)
    try:
        result = adapter.refund(
            RefundRequest(
                provider_reference=payment.provider_reference,
                refund_reference=str(refund.public_id),
                amount_cents=refund.amount_cents,
                reason=refund.reason,
            )
        )
    except ProviderUnavailable:
        from rathauskasse.payments import tasks  # noqa: PLC0415

        enqueue(tasks.retry_refund, refund.pk, run_after=clock.now() + dt.timedelta(minutes=5))
        return refund
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundState.PENDING:
            return locked
        locked.updated_at = clock.now()
        locked.provider_reference = result.provider_refund_reference
        if not result.succeeded:
            locked.status = RefundState.FAILED
            locked.failure_reason = result.failure_reason[:200]
            locked.save()
            _record_refund(locked, payment, EventType.REFUND_FAILED)
            audit.record(
                actor=actor,
                action="refund.failed",
                obj=locked,
                organisation_id=payment.organisation_id,
                after={"reason": result.failure_reason},
            )
            return locked
        locked.status = RefundState.SUCCEEDED
        locked.save()
        allocations = list(locked.allocations.values_list("receivable_id", "amount_cents"))
        ledger.post(
            organisation_id=payment.organisation_id,
            kind=EntryKind.REFUND,
            text=f"Erstattung {payment.description}",
            lines=rules.refund(provider=payment.provider, allocations=allocations),
            idempotency_key=f"refund:{locked.pk}",
            reference=f"payment:{payment.public_id}",
            actor=actor,
        )
        receivable_services.sync_status(
            organisation_id=payment.organisation_id, receivable_ids=[rid for rid, _ in allocations]
        )
        refunded = (
            payment.refunds.filter(status=RefundState.SUCCEEDED).aggregate(
                total=Sum("amount_cents")
            )["total"]
            or 0
        )
        Payment.objects.filter(pk=payment.pk).update(
            refund_status=RefundStatus.FULL
            if refunded >= payment.amount_cents
            else RefundStatus.PARTIAL,
            updated_at=clock.now(),
        )
        _record_refund(locked, payment, EventType.REFUND_SUCCEEDED)
        audit.record(
            actor=actor,
            action="refund.succeeded",
            obj=locked,
            organisation_id=payment.organisation_id,
            after={"amount_cents": locked.amount_cents},
        )
        return locked
