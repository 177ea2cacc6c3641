"""What a payment pays, item by item: the allocations spread over the receivables' lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rathauskasse.core.models import AuditEntry
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry, services
from rathauskasse.payments.contract import (
    BookingKey,
    ProviderRefused,
    StartItem,
    StartRequest,
    StartResult,
)
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from rathauskasse.providers.sandbox.adapter import SandboxProvider
from rathauskasse.receivables.models import ReceivableLine
from tests import factories

ACTOR = factories.ACTOR


def _line(cents: int, text: str = "Gebühr", **booking: Any) -> ReceivableLine:
    """An unsaved line on an unsaved budget line: enough for the pure item builder."""
    budget_line = BudgetLine(
        code=booking.pop("code", "1.2.3"),
        product=booking.pop("product", "12.2.01"),
        account=booking.pop("account", "432100"),
        cost_centre=booking.pop("cost_centre", ""),
        booking_data=booking.pop("budget_line_data", {}),
    )
    return ReceivableLine(
        text=text, amount_cents=cents, budget_line=budget_line, booking_data=booking
    )


receivables = st.lists(
    st.tuples(
        st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=6),
        # the share of the receivable's total this payment pays, in per mille (up to overpaying)
        st.integers(min_value=1, max_value=1500),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300)
@given(receivables=receivables)
def test_items_add_up_to_every_allocation_and_follow_the_lines(
    receivables: list[tuple[list[int], int]],
) -> None:
    allocations = []
    for n, (amounts, per_mille) in enumerate(receivables):
        total = sum(amounts)
        paid = max(1, total * per_mille // 1000)
        lines = [_line(cents, f"Position {i}") for i, cents in enumerate(amounts)]
        allocations.append((f"KZ{n}", "Zweck", paid, lines))

    items = services.items_for(allocations)

    assert sum(item.amount_cents for item in items) == sum(a[2] for a in allocations)
    for kassenzeichen, _purpose, paid, lines in allocations:
        mine = [item for item in items if item.reference == kassenzeichen]
        assert sum(item.amount_cents for item in mine) == paid
        total = sum(line.amount_cents for line in lines)
        by_text = {item.description: item.amount_cents for item in mine}
        for line in lines:
            # Less than a cent from the exact share paid × line / total (in integers: × total).
            assert abs(by_text.get(line.text, 0) * total - paid * line.amount_cents) < total
        if paid == total:
            assert [item.amount_cents for item in mine] == [line.amount_cents for line in lines]
    assert all(item.amount_cents > 0 for item in items)


def test_a_part_payment_is_spread_by_largest_remainder_in_line_order() -> None:
    lines = [_line(1000, "Gebühr"), _line(1000, "Auslagen"), _line(1000, "Porto")]
    items = services.items_for([("1234567", "Zweck", 100, lines)])
    assert [(i.description, i.amount_cents) for i in items] == [
        ("Gebühr", 34),
        ("Auslagen", 33),
        ("Porto", 33),
    ]
    # A share of zero cents is no item at all.
    items = services.items_for([("1234567", "Zweck", 1, lines)])
    assert [(i.description, i.amount_cents) for i in items] == [("Gebühr", 1)]


def test_booking_data_takes_the_budget_line_columns_then_free_data() -> None:
    line = _line(
        500,
        code="1.1.1.01",
        product="11.1.01",
        account="431100",
        cost_centre="",
        budget_line_data={"Kostenträger": "KT-1", "Haushaltsstelle": "nicht diese", "Jahr": 2026},
        Kostenträger="KT-7",
        Kostenstelle="1200",
        Leer="",
    )
    data = services.booking_data_of(line)
    assert data == {
        BookingKey.BUDGET_LINE: "1.1.1.01",  # a set column is never overridden
        BookingKey.PRODUCT: "11.1.01",
        BookingKey.ACCOUNT: "431100",
        "Kostenträger": "KT-7",  # the line's free data wins over its budget line's
        "Jahr": "2026",
        BookingKey.COST_CENTRE: "1200",  # fills the column left empty
    }
    assert all(isinstance(v, str) for v in data.values())


def _request(**overrides: Any) -> StartRequest:
    fields: dict[str, Any] = {
        "payment_reference": "p",
        "amount_cents": 1000,
        "description": "x",
        "method": "card",
        "return_url": "http://testserver/z",
        "notify_url": "http://testserver/n",
        "expires_at": dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        "organisation_id": 1,
        "items": (StartItem("1", "a", 600, {}), StartItem("1", "b", 400, {})),
    }
    fields.update(overrides)
    return StartRequest(**fields)


def test_a_start_request_is_refused_when_its_items_do_not_add_up() -> None:
    assert _request().amount_cents == 1000
    with pytest.raises(ValueError, match="add up"):
        _request(amount_cents=1001)
    with pytest.raises(ValueError, match="add up"):
        _request(items=())
    with pytest.raises(ValueError, match="positive"):
        StartItem("1", "a", 0, {})


def test_an_items_booking_data_cannot_be_changed_afterwards() -> None:
    source = {"Haushaltsstelle": "1.2.3"}
    item = StartItem("1", "a", 100, source)
    source["Haushaltsstelle"] = "anders"
    assert item.booking_data["Haushaltsstelle"] == "1.2.3"
    with pytest.raises(TypeError):
        item.booking_data["Haushaltsstelle"] = "anders"  # type: ignore[index]


# --- through start_payment ------------------------------------------------------------------


class Recording(SandboxProvider):
    def __init__(self) -> None:
        super().__init__(secret="test-secret")
        self.requests: list[StartRequest] = []
        self.refuse: ProviderRefused | None = None

    def start(self, request: StartRequest) -> StartResult:
        self.requests.append(request)
        if self.refuse is not None:
            raise self.refuse
        return super().start(request)


@pytest.fixture
def recording() -> Iterator[Recording]:
    provider = Recording()
    with registry.override("sandbox", provider):
        yield provider


@pytest.mark.django_db
def test_start_payment_sends_the_organisation_and_the_items_of_a_basket(
    recording: Recording, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    other = factories.budget_line(org)
    first = factories.receivable(org, department, budget_line, 2000, 1070)
    second = factories.receivable(org, department, other, 500)
    payment = services.create_payment(
        actor=ACTOR,
        organisation=org,
        allocations=[
            services.AllocationInput(second),
            services.AllocationInput(first, amount_cents=1000),  # a part payment
        ],
        provider="sandbox",
        method="card",
        return_url="http://testserver/zurueck",
    )
    services.start_payment(payment=payment, actor=ACTOR)

    (request,) = recording.requests
    assert request.organisation_id == org.pk
    assert request.amount_cents == 1500
    assert [(i.reference, i.description, i.amount_cents) for i in request.items] == [
        (second.kassenzeichen, "Position 1", 500),
        (first.kassenzeichen, "Position 1", 651),  # 1000 × 2000/3070 = 651.46
        (first.kassenzeichen, "Position 2", 349),  # 1000 × 1070/3070 = 348.53
    ]
    assert dict(request.items[0].booking_data) == {
        "Haushaltsstelle": other.code,
        "Produkt": "12.2.01",
        "Sachkonto": "432100",
        "Kostenstelle": "1200",
    }
    assert request.items[1].booking_data["Haushaltsstelle"] == budget_line.code


@pytest.mark.django_db
def test_a_refusal_at_start_fails_the_payment_and_tells_the_payer_in_german(
    recording: Recording, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    payment = factories.payment(org, factories.receivable(org, department, budget_line, 3070))
    recording.refuse = ProviderRefused(
        "refused", code="BOOKING_DATA_MISSING", detail="items[0].bookingData: HHST fehlt"
    )
    with pytest.raises(services.PaymentRefused) as refused:
        services.start_payment(payment=payment, actor=ACTOR)
    assert "hat die Zahlung nicht angenommen; es wurde nichts abgebucht" in refused.value.message
    assert "BOOKING_DATA_MISSING" not in refused.value.message  # no internals for the payer

    payment = Payment.objects.get(pk=payment.pk)
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "provider_refused:BOOKING_DATA_MISSING"
    event = PaymentEvent.objects.get(payment=payment, kind="provider_refused")
    assert event.data == {
        "operation": "start",
        "code": "BOOKING_DATA_MISSING",
        "detail": "items[0].bookingData: HHST fehlt",
    }
    assert AuditEntry.objects.filter(action="payment.failed", object_id=str(payment.pk)).exists()
    assert not JournalEntry.objects.filter(kind="payment_succeeded").exists()
    # Starting the failed payment again is refused; the payer makes a new attempt.
    with pytest.raises(services.TransitionNotAllowed):
        services.start_payment(payment=payment, actor=ACTOR)
