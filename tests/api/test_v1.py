"""REST API v1: keys and scopes, receivables and payments, idempotency, problem+json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from tests import factories

from rathauskasse.api import keys
from rathauskasse.api import services as api_services
from rathauskasse.api.models import ApiKey, Scope
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments.models import Payment
from rathauskasse.receivables.models import Receivable

pytestmark = pytest.mark.django_db

ALL = list(Scope.values)


def make_key(
    org: Organisation, *, mode: str = "test", scopes: list[str] | None = None, **kw: Any
) -> str:
    _, token = api_services.create_api_key(
        actor=factories.ACTOR,
        organisation=org,
        name="Hundesteuer",
        mode=mode,
        scopes=ALL if scopes is None else scopes,
        **kw,
    )
    return token


def call(
    client: Client, method: str, path: str, token: str | None, body: Any = None, **headers: str
) -> Any:
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if token:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body is None:
        return getattr(client, method)(path, **extra)
    return getattr(client, method)(
        path, data=json.dumps(body), content_type="application/json", **extra
    )


def receivable_body(dept: Department, line: BudgetLine, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "department": dept.pk,
        "purpose": "Hundesteuer 2027",
        "lines": [
            {
                "text": "Hundesteuer",
                "amount_cents": 9600,
                "budget_line": line.code,
                "booking_data": {"Haushaltsstelle": line.code},
            },
        ],
        "debtor": {"name": "Erika Mustermann", "postcode": "52349", "city": "Musterstadt"},
        "reference": "HST-4711",
    }
    body.update(overrides)
    return body


def test_key_format_has_prefix_and_checksum() -> None:
    new = keys.generate("test")
    token = new.token
    assert token.startswith("test_")
    assert keys.parse(token) is not None
    typo = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert keys.parse(typo) is None
    assert keys.parse("live_" + token[5:]) is None  # the mode is part of the checksum


def test_only_a_digest_is_stored_and_revoked_keys_fail(client: Client, org: Organisation) -> None:
    token = make_key(org)
    api_key = ApiKey.objects.get()
    assert keys.parse(token).secret not in api_key.secret_digest  # type: ignore[union-attr]
    assert call(client, "get", "/api/v1/receivables", token).status_code == 200
    api_services.revoke_api_key(actor=factories.ACTOR, api_key=api_key)
    response = call(client, "get", "/api/v1/receivables", token)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


def test_missing_scope_is_forbidden(client: Client, org: Organisation) -> None:
    token = make_key(org, scopes=["receivables:read"])
    response = call(client, "post", "/api/v1/payments", token, {"receivables": []})
    assert response.status_code in (403, 422)
    response = call(client, "get", "/api/v1/payments", token)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_create_get_find_and_list_a_receivable(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    response = call(
        client, "post", "/api/v1/receivables", token, receivable_body(department, budget_line)
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["amount_cents"] == 9600
    assert created["open_cents"] == 9600
    assert created["status"] == "open"
    assert created["pay_url"].startswith("http://testserver/p/")
    assert created["lines"][0]["booking_data"] == {"Haushaltsstelle": budget_line.code}
    got = call(client, "get", f"/api/v1/receivables/{created['id']}", token).json()
    assert got == created
    spelled = created["kassenzeichen_display"].replace("-", " ")
    assert (
        call(client, "get", f"/api/v1/receivables/by-kassenzeichen/{spelled}", token).json()["id"]
        == created["id"]
    )
    listed = call(client, "get", "/api/v1/receivables?reference=HST-4711", token).json()
    assert [r["id"] for r in listed["data"]] == [created["id"]]


def test_keyset_pagination(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    ids = [
        call(
            client, "post", "/api/v1/receivables", token, receivable_body(department, budget_line)
        ).json()["id"]
        for _ in range(5)
    ]
    first = call(client, "get", "/api/v1/receivables?limit=2", token).json()
    second = call(
        client, "get", f"/api/v1/receivables?limit=2&after={first['next_cursor']}", token
    ).json()
    third = call(
        client, "get", f"/api/v1/receivables?limit=2&after={second['next_cursor']}", token
    ).json()
    seen = [r["id"] for page in (first, second, third) for r in page["data"]]
    assert seen == sorted(ids, reverse=True)
    assert third["next_cursor"] is None


def test_bad_input_is_a_problem_and_changes_nothing(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    cases = [
        receivable_body(department, budget_line, lines=[]),
        receivable_body(department, budget_line, unknown_field=1),
        receivable_body(
            department,
            budget_line,
            lines=[{"text": "x", "amount_cents": -5, "budget_line": budget_line.code}],
        ),
        receivable_body(
            department,
            budget_line,
            lines=[{"text": "x", "amount_cents": 10**15, "budget_line": budget_line.code}],
        ),
        receivable_body(
            department,
            budget_line,
            lines=[{"text": "x", "amount_cents": 100, "budget_line": "gibt-es-nicht"}],
        ),
        receivable_body(department, budget_line, department=999999),
        receivable_body(department, budget_line, kassenzeichen="12-345"),
    ]
    for body in cases:
        response = call(client, "post", "/api/v1/receivables", token, body)
        assert response.status_code == 422, (body, response.content)
        problem = response.json()
        assert response["Content-Type"] == "application/problem+json"
        assert problem["code"] in ("validation_failed", "invalid_kassenzeichen")
        assert "Traceback" not in response.content.decode()
    not_json = client.post(
        "/api/v1/receivables",
        data=b"\xff\xfe",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert 400 <= not_json.status_code < 500
    assert Receivable.objects.count() == 0


def test_idempotency_key_replays_and_refuses_another_body(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    body = receivable_body(department, budget_line)
    first = call(client, "post", "/api/v1/receivables", token, body, **{"Idempotency-Key": "k-1"})
    again = call(client, "post", "/api/v1/receivables", token, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    other = call(
        client,
        "post",
        "/api/v1/receivables",
        token,
        {**body, "purpose": "anders"},
        **{"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    assert Receivable.objects.count() == 1


def test_create_a_payment_and_send_the_payer_to_next_url(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = call(
        client, "post", "/api/v1/receivables", token, receivable_body(department, budget_line)
    ).json()
    body = {
        "receivables": [{"receivable": receivable["id"]}],
        "method": "card",
        "return_url": "https://hundesteuer.example/fertig",
    }
    response = call(client, "post", "/api/v1/payments", token, body, **{"Idempotency-Key": "p-1"})
    assert response.status_code == 201, response.content
    payment = response.json()
    # Created, not yet at the provider: the start link registers it when the payer arrives.
    assert payment["status"] == "created"
    assert payment["provider"] == "sandbox"
    assert payment["provider_reference"] == ""
    assert payment["next_url"] == f"http://testserver/zahlen/{payment['id']}/"
    assert payment["allocations"] == [
        {
            "receivable": receivable["id"],
            "kassenzeichen": receivable["kassenzeichen"],
            "amount_cents": 9600,
        }
    ]
    again = call(client, "post", "/api/v1/payments", token, body, **{"Idempotency-Key": "p-1"})
    assert again.json()["id"] == payment["id"]
    assert Payment.objects.count() == 1
    arrived = client.get(payment["next_url"])
    assert arrived.status_code == 302
    assert arrived["Location"].startswith("http://testserver/sandbox/bezahlen/")
    started = call(client, "get", f"/api/v1/payments/{payment['id']}", token).json()
    assert started["status"] == "started"
    assert started["next_url"] == arrived["Location"]
    assert started["provider_reference"].startswith("sbx_")
    events = call(client, "get", f"/api/v1/payments/{payment['id']}/events", token).json()
    assert [e["to_status"] for e in events] == ["created", "started"]
    cancelled = call(client, "post", f"/api/v1/payments/{payment['id']}/cancel", token)
    assert cancelled.json()["status"] == "cancelled"


def test_a_paid_receivable_cannot_be_paid_or_cancelled_again(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    from rathauskasse.payments import services as payments

    token = make_key(org)
    receivable = call(
        client, "post", "/api/v1/receivables", token, receivable_body(department, budget_line)
    ).json()
    payment = payments.create_payment(
        actor=factories.ACTOR,
        organisation=org,
        allocations=[payments.AllocationInput(Receivable.objects.get(pk=receivable["id"]))],
        provider="sandbox",
        method="card",
    )
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )
    body = {
        "receivables": [{"receivable": receivable["id"]}],
        "method": "card",
        "return_url": "https://x.example/",
    }
    response = call(client, "post", "/api/v1/payments", token, body)
    assert response.status_code == 409
    cancel = call(
        client,
        "post",
        f"/api/v1/receivables/{receivable['id']}/cancel",
        token,
        {"reason": "Irrtum"},
    )
    assert cancel.status_code == 409
    assert cancel.json()["code"] == "receivable_not_cancellable"


def test_keys_see_only_their_organisation_and_departments(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    other_department = factories.department(org, name="Ordnungsamt")
    limited = make_key(org, departments=[other_department])
    full = make_key(org)
    created = call(
        client, "post", "/api/v1/receivables", full, receivable_body(department, budget_line)
    ).json()
    assert call(client, "get", f"/api/v1/receivables/{created['id']}", limited).status_code == 404
    refused = call(
        client, "post", "/api/v1/receivables", limited, receivable_body(department, budget_line)
    )
    assert refused.status_code == 403
    stranger = factories.organisation()
    foreign = make_key(stranger)
    assert call(client, "get", f"/api/v1/receivables/{created['id']}", foreign).status_code == 404


def test_rate_limit_per_key(client: Client, org: Organisation, settings: Any) -> None:
    import datetime as dt

    from rathauskasse.core import clock

    settings.API_RATE_LIMIT = 2
    token = make_key(org)
    with clock.frozen(dt.datetime(2026, 11, 25, 10, 0, 30, tzinfo=dt.UTC)):
        responses = [call(client, "get", "/api/v1/receivables", token) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2]["Retry-After"] == "30"
    assert responses[2].json()["code"] == "rate_limited"


def test_the_committed_openapi_document_matches_the_code(client: Client) -> None:
    from pathlib import Path

    served = client.get("/api/v1/openapi.json").json()
    committed = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json").read_text()
    )
    assert served == committed, "run `manage.py export_openapi` and commit docs/api/openapi.json"


def test_the_admin_shows_a_new_key_once_and_revokes_it(
    admin_client: Client, client: Client, org: Organisation
) -> None:
    response = admin_client.post(
        "/admin/api/apikey/add/",
        {
            "organisation": org.pk,
            "name": "Parkraum",
            "mode": "test",
            "scopes": ["receivables:read"],
        },
        follow=True,
    )
    page = response.content.decode()
    match = __import__("re").search(r"(test_[0-9A-Za-z]{10}_[0-9A-Za-z]{32}_[0-9A-Za-z]{6})", page)
    assert match, page
    token = match.group(1)
    assert call(client, "get", "/api/v1/receivables", token).status_code == 200
    api_key = ApiKey.objects.get()
    assert token not in str(api_key.__dict__)
    admin_client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert call(client, "get", "/api/v1/receivables", token).status_code == 401


def test_every_error_code_is_in_the_catalogue() -> None:
    from pathlib import Path

    import rathauskasse.api.v1.base
    import rathauskasse.ledger.services
    import rathauskasse.payments.receipts
    import rathauskasse.payments.registry
    import rathauskasse.payments.services
    import rathauskasse.receivables.services  # noqa: F401 - their errors register as subclasses
    from rathauskasse.core.errors import DomainError

    catalogue = (Path(__file__).resolve().parents[2] / "docs" / "api" / "errors.md").read_text()
    todo, codes = [DomainError], set()
    while todo:
        cls = todo.pop()
        codes.add(cls.code)
        todo.extend(cls.__subclasses__())
    codes.discard("domain_error")
    missing = sorted(code for code in codes if f"`{code}`" not in catalogue)
    assert missing == []


def test_reference_data_names_departments_and_budget_lines(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org, scopes=["receivables:read"])
    assert call(client, "get", "/api/v1/departments", token).json() == [
        {"id": department.pk, "name": department.name, "code": department.code}
    ]
    codes = [b["code"] for b in call(client, "get", "/api/v1/budget-lines", token).json()]
    assert codes == [budget_line.code]
