"""A provider that does not notify is polled, from the payment's creation until it is decided."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django_tasks import default_task_backend

from rathauskasse.core import clock
from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry, services, tasks
from rathauskasse.payments.contract import (
    Capabilities,
    ProviderState,
    ProviderUnavailable,
    StartRequest,
    StartResult,
    StatusReport,
)
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from tests import factories
from tests.conftest import _flush_on_commit

pytestmark = pytest.mark.django_db
ACTOR = factories.ACTOR
MINUTE = dt.timedelta(minutes=1)


class Polled:
    """A provider that never notifies and cannot cancel, like an XBezahldienste service."""

    identifier = "sandbox"
    name = "Abgefragt"
    capabilities = Capabilities(
        methods=frozenset({"card"}), refunds=False, partial_refunds=False, notifies=False
    )

    def __init__(self) -> None:
        self.states: dict[str, ProviderState] = {}
        self.amounts: dict[str, int] = {}
        self.polls: list[dict[str, Any]] = []
        self.down = False
        self.lose_start_answer = False

    def start(self, request: StartRequest) -> StartResult:
        self.states[request.payment_reference] = ProviderState.STARTED
        self.amounts[request.payment_reference] = request.amount_cents
        if self.lose_start_answer:
            raise ProviderUnavailable("read timeout")
        return StartResult(
            provider_reference=f"tx-{request.payment_reference}",
            redirect_url=f"https://bezahldienst.example/{request.payment_reference}",
        )

    def parse_notification(self, notification: object) -> StatusReport:
        raise NotImplementedError

    def poll(self, **kwargs: Any) -> StatusReport | None:
        self.polls.append({**kwargs, "at": clock.now()})
        if self.down:
            raise ProviderUnavailable("HTTP 503")
        reference = kwargs["payment_reference"]
        if reference not in self.states:
            return None
        state = self.states[reference]
        return StatusReport(
            provider_reference=f"tx-{reference}",
            payment_reference=reference,
            state=state,
            amount_cents=self.amounts[reference],
            event_id=f"tx-{reference}:{state}",
        )

    def cancel(self, *, provider_reference: str) -> StatusReport:
        report = self.poll(payment_reference=provider_reference.removeprefix("tx-"))
        assert report is not None
        return report  # no cancel operation: the current state, "started" while open

    def refund(self, request: object) -> object:
        raise NotImplementedError


@pytest.fixture
def polled() -> Iterator[Polled]:
    provider = Polled()
    with registry.override("sandbox", provider):  # type: ignore[arg-type]
        yield provider


@pytest.fixture
def payment(
    polled: Polled, org: Organisation, department: Department, budget_line: BudgetLine
) -> Payment:
    return factories.payment(org, factories.receivable(org, department, budget_line, 3070))


def scheduled(name: str) -> list[tuple[tuple[Any, ...], dt.datetime | None]]:
    _flush_on_commit()
    return [
        (tuple(r.args), r.task.run_after)
        for r in default_task_backend.results  # type: ignore[attr-defined]
        if r.task.name == name
    ]


def keep_only(name: str) -> None:
    _flush_on_commit()
    default_task_backend.results[:] = [  # type: ignore[attr-defined]
        r
        for r in default_task_backend.results  # type: ignore[attr-defined]
        if r.task.name == name
    ]


def test_polls_are_planned_with_the_payment_next_to_its_expiry_check(payment: Payment) -> None:
    assert scheduled("poll_payment") == [((payment.pk, 0), payment.created_at + MINUTE)]
    assert scheduled("check_payment") == [((payment.pk,), payment.expires_at)]


def test_a_notifying_provider_is_not_polled(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    factories.payment(org, factories.receivable(org, department, budget_line, 3070))
    assert scheduled("poll_payment") == []
    assert len(scheduled("check_payment")) == 1


def test_the_polls_come_after_1_2_5_10_and_then_every_30_minutes_until_expiry(
    polled: Polled, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    times = []
    while (due := scheduled("poll_payment")) and due[0][1] is not None:
        (_args, run_after), *_ = due
        assert run_after is not None
        with clock.frozen(run_after):
            run_tasks()
        times.append(round((run_after - payment.created_at) / MINUTE))
        assert len(times) < 20
    # PAYMENT_EXPIRY_MINUTES is 120: from then on check_payment looks after the payment.
    assert times == [1, 3, 8, 18, 48, 78, 108]
    assert [p["at"] for p in polled.polls] == [payment.created_at + t * MINUTE for t in times]
    assert all(p["organisation_id"] == payment.organisation_id for p in polled.polls)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.STARTED


def test_a_success_seen_by_a_poll_confirms_and_books_once_and_ends_the_polls(
    polled: Polled, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    with clock.frozen(payment.created_at + 1 * MINUTE):
        run_tasks()
    polled.states[str(payment.public_id)] = ProviderState.SUCCEEDED
    with clock.frozen(payment.created_at + 3 * MINUTE):
        assert run_tasks() == ["poll_payment"]
    assert scheduled("poll_payment") == []  # decided: no further poll
    # The payer's return page and the expiry check find it decided and change nothing.
    services.sync_payment(payment=Payment.objects.get(pk=payment.pk))
    with clock.frozen(payment.expires_at + MINUTE):
        run_tasks()

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert JournalEntry.objects.filter(kind="payment_succeeded").count() == 1
    assert PaymentEvent.objects.filter(payment=payment, to_status="succeeded").count() == 1
    assert len(polled.polls) == 2


def test_an_unreachable_provider_is_polled_again(
    polled: Polled, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    polled.down = True
    with clock.frozen(payment.created_at + MINUTE):
        run_tasks()
    assert scheduled("poll_payment") == [((payment.pk, 1), payment.created_at + 3 * MINUTE)]


def test_a_lost_start_answer_is_recovered_by_the_first_poll(
    polled: Polled, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    polled.lose_start_answer = True
    with pytest.raises(services.ProviderFailed):
        services.start_payment(payment=payment, actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).provider_reference == ""
    polled.states[str(payment.public_id)] = ProviderState.SUCCEEDED  # paid by another way
    with clock.frozen(payment.created_at + MINUTE):
        run_tasks()
    payment.refresh_from_db()
    assert polled.polls[0]["provider_reference"] == ""
    assert polled.polls[0]["organisation_id"] == payment.organisation_id
    assert payment.provider_reference == f"tx-{payment.public_id}"
    assert payment.status == PaymentStatus.SUCCEEDED


def test_expiry_stops_a_payment_still_open_there_and_looks_for_a_late_success(
    polled: Polled, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    stopped_at = payment.expires_at + MINUTE
    with clock.frozen(stopped_at):
        services.settle_expired(payment=Payment.objects.get(pk=payment.pk))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
    assert scheduled("look_for_late_success") == [
        ((payment.pk, 0), stopped_at + dt.timedelta(hours=1))
    ]

    # The payer had the provider's page still open and paid after all.
    polled.states[str(payment.public_id)] = ProviderState.SUCCEEDED
    keep_only("look_for_late_success")
    with clock.frozen(stopped_at + dt.timedelta(hours=1)):
        assert run_tasks() == ["look_for_late_success"]

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED  # terminal stays terminal (decision 0010)
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()
    anomaly = PaymentEvent.objects.get(payment=payment, kind="anomaly:state_conflict")
    assert anomaly.data == {"reported_state": "succeeded", "reported_amount_cents": 3070}
    assert AuditEntry.objects.filter(action="payment.anomaly.state_conflict").count() == 1
    assert scheduled("look_for_late_success") == []


def test_a_stopped_payment_is_looked_at_after_an_hour_and_a_day_then_left(
    polled: Polled, payment: Payment, run_tasks: Callable[[], list[str]]
) -> None:
    services.start_payment(payment=payment, actor=ACTOR)
    services.abandon_payment(payment=Payment.objects.get(pk=payment.pk), actor=ACTOR)
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CANCELLED
    keep_only("look_for_late_success")
    stopped_at = clock.now()
    with clock.frozen(stopped_at + dt.timedelta(hours=1, seconds=1)):
        assert run_tasks() == ["look_for_late_success"]
    (_, second), *_ = scheduled("look_for_late_success")
    assert second is not None
    assert (
        stopped_at + dt.timedelta(days=1) <= second <= stopped_at + dt.timedelta(days=1, seconds=2)
    )
    with clock.frozen(second):
        assert run_tasks() == ["look_for_late_success"]
    assert scheduled("look_for_late_success") == []
    assert not PaymentEvent.objects.filter(payment=payment, kind__startswith="anomaly").exists()


def test_a_provider_that_cancels_is_not_watched_after_expiry(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = factories.payment(org, factories.receivable(org, department, budget_line, 3070))
    services.start_payment(payment=payment, actor=ACTOR)
    with clock.frozen(payment.expires_at + MINUTE):
        services.settle_expired(payment=Payment.objects.get(pk=payment.pk))
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
    assert scheduled("look_for_late_success") == []


def test_poll_delays_grow_and_then_stay_at_30_minutes() -> None:
    assert [tasks.poll_delay(n) / MINUTE for n in range(8)] == [1, 2, 5, 10, 30, 30, 30, 30]
