"""Every operation of the REST API v1, fuzzed with schemathesis from its OpenAPI document.

The document is docs/api/openapi.json, the one integrators read; `test_v1` keeps it equal to the
one the app serves at /api/v1/openapi.json. Each operation gets generated requests (valid and
invalid, examples, coverage and fuzzing phases) with a test API key that has every scope, in an
organisation with departments, budget lines, open, paid and cancelled receivables, payments and
a refund, so that requests naming their ids succeed. The harness is `tests/api/contract.py`.

Plugging in another OpenAPI document (the XBezahldienste server's,
docs/api/xbezahldienste.openapi.json): load it, give it a fixture that builds its data and
returns the auth header and the known ids, and parametrize a test the same way:

    xbd = contract.load(contract.DOCS / "xbezahldienste.openapi.json")

    @xbd.parametrize()
    def test_xbezahldienste_conforms_to_its_document(case, xbd_world):
        contract.run(case, headers=xbd_world.headers, known=xbd_world.known)

`known` maps parameter and body field names (`originatorId`, `endPointId`, `transactionId`, ...)
to real values; a server-side `functionalCode` check can be passed in `checks=`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from schemathesis import Case, CheckContext, Response
from schemathesis.generation import GenerationMode
from tests import factories
from tests.api import contract

from rathauskasse.api import services as api_services
from rathauskasse.api.models import Scope
from rathauskasse.api.v1.base import api
from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import services as payments
from rathauskasse.receivables import notices
from rathauskasse.receivables import services as receivables

schema = contract.load(contract.DOCS / "openapi.json")


@dataclass
class World:
    headers: dict[str, str]
    known: dict[str, list[Any]]
    organisation: Organisation


@pytest.fixture
def world(db: None) -> World:
    org = factories.organisation()
    department = factories.department(org)
    other_department = factories.department(org, name="Ordnungsamt")
    line = factories.budget_line(org, code="1.2.01")
    open_one = factories.receivable(org, department, line, 9600)
    open_two = factories.receivable(org, other_department, line, 1250, 800)
    paid = factories.receivable(org, department, line, 3070)
    cancelled = factories.receivable(org, department, line, 500)
    receivables.cancel_receivable(actor=factories.ACTOR, receivable=cancelled, reason="Irrtum")
    succeeded = factories.payment(org, paid)
    payments.confirm_payment(
        payment=succeeded, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    refund = payments.refund_payment(
        actor=factories.ACTOR, payment=succeeded, amount_cents=1000, reason="Kulanz"
    )
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=open_two)
    started = factories.payment(org, open_one)
    payments.start_payment(payment=started, actor=factories.ACTOR)
    _, token = api_services.create_api_key(
        actor=factories.ACTOR,
        organisation=org,
        name="Schemathesis",
        mode="test",
        scopes=list(Scope.values),
    )
    receivable_ids = [open_one.pk, open_two.pk, paid.pk, cancelled.pk]
    payment_ids = [str(started.public_id), str(succeeded.public_id)]
    return World(
        headers={"Authorization": f"Bearer {token}"},
        known={
            "receivable_id": receivable_ids,
            "receivable": [open_two.pk, open_one.pk],
            "payment_id": payment_ids,
            "payment": [str(succeeded.public_id)],
            "refund_id": [str(refund.public_id)],
            "notice_id": [notice.pk],
            "department": [department.pk, other_department.pk],
            "budget_line": [line.code],
            "kassenzeichen": [open_one.kassenzeichen, paid.kassenzeichen_display],
            "method": ["card", "sepa_debit"],
        },
        organisation=org,
    )


@pytest.fixture
def schema_rejections() -> Iterator[list[Any]]:
    """The requests the API refused for breaking its own request schema (pydantic)."""
    from ninja.errors import ValidationError

    handler = api._exception_handlers[ValidationError]
    seen: list[Any] = []

    def counting(request: Any, error: ValidationError) -> Any:
        seen.append(error.errors)
        return handler(request, error)

    api._exception_handlers[ValidationError] = counting
    yield seen
    api._exception_handlers[ValidationError] = handler


def _deliberately_stricter(error: dict[str, Any], body: Any) -> bool:
    """JSON Schema counts 96.0 as an integer; amounts and ids here refuse floats on purpose."""
    value = body
    for part in error.get("loc", ())[2:]:  # ("body", "payload", field, ...)
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return error.get("type") == "int_type" and isinstance(value, float) and value.is_integer()


def accepted_by_the_schema(seen: list[Any]) -> Callable[..., bool | None]:
    """A request the document calls valid must pass the server's schema validation."""

    def check(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
        refused = [e for errors in seen for e in errors if not _deliberately_stricter(e, case.body)]
        seen[:] = []
        if positive:
            assert not refused, f"a request valid by the document was refused: {refused}"
        return True

    return check


@schema.parametrize()
def test_the_api_keeps_its_document(case: Case, world: World, schema_rejections: list[Any]) -> None:
    with contract.in_test_transaction():
        contract.run(
            case,
            headers=world.headers,
            known=world.known,
            checks=[accepted_by_the_schema(schema_rejections)],
        )
