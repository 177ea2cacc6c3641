"""Bad input to the REST API: each gets a 4xx problem+json and changes nothing.

"Changes nothing" is counted: receivables, payments, journal entries, events, idempotency rows
and audit entries are the same before and after every refused request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key, receivable_body

from rathauskasse.api import keys
from rathauskasse.api.models import ApiKey, IdempotentResponse, Scope
from rathauskasse.api.v1.base import MAX_BODY_BYTES
from rathauskasse.core import clock
from rathauskasse.core.models import AuditEntry
from rathauskasse.events.models import Event
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import registry
from rathauskasse.payments.contract import Capabilities
from rathauskasse.payments.models import Payment
from rathauskasse.providers.sandbox.adapter import SandboxProvider
from rathauskasse.receivables.models import Receivable

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        "receivables": Receivable.objects.count(),
        "payments": Payment.objects.count(),
        "journal entries": JournalEntry.objects.count(),
        "events": Event.objects.count(),
        "idempotency rows": IdempotentResponse.objects.count(),
        "audit entries": AuditEntry.objects.count(),
    }


@pytest.fixture
def token(org: Organisation) -> str:
    return make_key(org)


@pytest.fixture
def post_raw(client: Client, token: str) -> Callable[..., Any]:
    """POST raw bytes with an Idempotency-Key, so that a stored answer would show up as a row."""

    def post(path: str, data: bytes, content_type: str = "application/json", **headers: str) -> Any:
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        extra.setdefault("HTTP_IDEMPOTENCY_KEY", "retry-safe-1")
        return client.generic(
            "POST",
            path,
            data=data,
            content_type=content_type,
            HTTP_AUTHORIZATION=f"Bearer {token}",
            **extra,
        )

    return post


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["title"]
    if field is not None:
        assert problem["field"] == field, problem
    assert "Traceback" not in response.content.decode()


@pytest.fixture
def receivable(org: Organisation, department: Department, budget_line: BudgetLine) -> Receivable:
    return factories.receivable(org, department, budget_line, 9600)


def payment_body(receivable: Receivable, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receivables": [{"receivable": receivable.pk}],
        "method": "card",
        "return_url": "https://hundesteuer.example/fertig",
    }
    body.update(overrides)
    return body


def test_a_body_over_256_kib_is_413_and_changes_nothing(
    post_raw: Callable[..., Any], department: Department, budget_line: BudgetLine
) -> None:
    before = counts()
    body = receivable_body(department, budget_line, purpose="x" * (MAX_BODY_BYTES + 1))
    response = post_raw("/api/v1/receivables", json.dumps(body).encode())
    assert_problem(response, 413, "payload_too_large", "body")
    assert counts() == before


def test_a_body_over_djangos_upload_limit_is_a_413_problem_not_an_html_400(
    post_raw: Callable[..., Any], settings: Any, department: Department, budget_line: BudgetLine
) -> None:
    before = counts()
    body = json.dumps(receivable_body(department, budget_line)).encode()
    oversized = body + b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    for path in (
        "/api/v1/receivables",
        "/api/v1/payments/00000000-0000-4000-8000-000000000000/cancel",
    ):
        assert_problem(post_raw(path, oversized), 413, "payload_too_large")
    assert counts() == before


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/json; charset=latin-1",
        "application/xml",
    ],
)
def test_another_media_type_is_415_and_changes_nothing(
    post_raw: Callable[..., Any],
    content_type: str,
    department: Department,
    budget_line: BudgetLine,
) -> None:
    before = counts()
    body = json.dumps(receivable_body(department, budget_line)).encode()
    response = post_raw("/api/v1/receivables", body, content_type=content_type)
    assert_problem(response, 415, "unsupported_media_type", "Content-Type")
    assert counts() == before


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe\x00\x01",
        '{"purpose": "Gebühr"}'.encode("latin-1"),
        '{"purpose": "Gebühr"}'.encode("utf-16"),
        b'{"purpose": "\xed\xa0\x80"}',  # a lone surrogate, not UTF-8
    ],
    ids=["garbage", "latin-1", "utf-16", "surrogate"],
)
def test_bytes_that_are_not_utf8_are_400_and_change_nothing(
    post_raw: Callable[..., Any], data: bytes
) -> None:
    before = counts()
    assert_problem(post_raw("/api/v1/receivables", data), 400, "bad_request", "body")
    assert counts() == before


@pytest.mark.parametrize("data", [b"{", b'{"a": 1,}', b"NaN", b"[" * 100_000 + b"]" * 100_000])
def test_text_that_is_not_json_is_400(post_raw: Callable[..., Any], data: bytes) -> None:
    before = counts()
    assert_problem(post_raw("/api/v1/payments", data), 400, "bad_request", "body")
    assert counts() == before


@pytest.mark.parametrize("data", [b"[]", b'"Hundesteuer"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_422(post_raw: Callable[..., Any], data: bytes) -> None:
    before = counts()
    for path in ("/api/v1/receivables", "/api/v1/payments", "/api/v1/refunds"):
        assert_problem(post_raw(path, data), 422, "validation_failed", "body")
    assert counts() == before


def test_unknown_fields_are_named(
    client: Client, token: str, department: Department, budget_line: BudgetLine
) -> None:
    before = counts()
    body = receivable_body(department, budget_line, amount_cents=100)
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", "amount_cents")
    body = receivable_body(department, budget_line)
    body["lines"][0]["vat"] = 19
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", "lines.0.vat")
    body = receivable_body(department, budget_line)
    body["debtor"]["iban"] = "DE02120300000000202051"
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", "debtor.iban")
    assert counts() == before


@pytest.mark.parametrize(
    "amount",
    [-5, 0, 12.5, 96.0, "9600", "96,00", 10**20, 100_000_000_01, True, None, [9600], {"cents": 1}],
    ids=repr,
)
def test_amounts_must_be_positive_whole_cents(
    client: Client,
    token: str,
    department: Department,
    budget_line: BudgetLine,
    receivable: Receivable,
    amount: Any,
) -> None:
    before = counts()
    line = {"text": "Gebühr", "amount_cents": amount, "budget_line": budget_line.code}
    body = receivable_body(department, budget_line, lines=[line])
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", "lines.0.amount_cents")
    if amount is not None:  # null means "the whole open amount" for a payment
        body = payment_body(
            receivable, receivables=[{"receivable": receivable.pk, "amount_cents": amount}]
        )
        response = call(client, "post", "/api/v1/payments", token, body)
        assert_problem(response, 422, "validation_failed", "receivables.0.amount_cents")
    assert counts() == before


def test_ids_must_be_whole_numbers(
    client: Client,
    token: str,
    receivable: Receivable,
    department: Department,
    budget_line: BudgetLine,
) -> None:
    before = counts()
    for bad in (str(receivable.pk), float(receivable.pk), 0, -1, 2**63):
        body = payment_body(receivable, receivables=[{"receivable": bad}])
        response = call(client, "post", "/api/v1/payments", token, body)
        assert_problem(response, 422, "validation_failed", "receivables.0.receivable")
    body = receivable_body(department, budget_line, department=str(department.pk))
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", "department")
    assert counts() == before


def test_lists_over_the_limit_are_refused(
    client: Client,
    token: str,
    department: Department,
    budget_line: BudgetLine,
    receivable: Receivable,
) -> None:
    before = counts()
    line = {"text": "Gebühr", "amount_cents": 100, "budget_line": budget_line.code}
    body = receivable_body(department, budget_line, lines=[line] * 100)
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", "lines")
    body = payment_body(receivable, receivables=[{"receivable": receivable.pk}] * 100)
    response = call(client, "post", "/api/v1/payments", token, body)
    assert_problem(response, 422, "validation_failed", "receivables")
    for path in (
        "/api/v1/receivables?limit=201",
        "/api/v1/payments?limit=0",
        "/api/v1/events?limit=501",
    ):
        assert_problem(call(client, "get", path, token), 422, "validation_failed", "limit")
    assert counts() == before


@pytest.mark.parametrize(
    "key", ["", " ", "a" * 256, "schlüssel", "with space", "tab\tkey"], ids=repr
)
def test_a_malformed_idempotency_key_is_422_naming_the_header(
    client: Client, token: str, receivable: Receivable, key: str
) -> None:
    before = counts()
    response = call(
        client,
        "post",
        "/api/v1/payments",
        token,
        payment_body(receivable),
        **{"Idempotency-Key": key},
    )
    assert_problem(response, 422, "validation_failed", "Idempotency-Key")
    assert counts() == before


def test_a_well_formed_idempotency_key_of_255_characters_works(
    client: Client, token: str, receivable: Receivable
) -> None:
    key = "K" * 254 + "~"
    first = call(
        client,
        "post",
        "/api/v1/payments",
        token,
        payment_body(receivable),
        **{"Idempotency-Key": key},
    )
    again = call(
        client,
        "post",
        "/api/v1/payments",
        token,
        payment_body(receivable),
        **{"Idempotency-Key": key},
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1


# --- authentication and scopes ------------------------------------------------------------------


def _well_formed_unknown_key() -> str:
    return keys.generate("live").token


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer test_123",
        "unknown",
    ],
)
def test_no_or_a_malformed_key_is_401(
    client: Client,
    org: Organisation,
    receivable: Receivable,
    authorization: str | None,
) -> None:
    make_key(org)
    before = counts()
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    for path, body in (
        ("/api/v1/receivables", None),
        ("/api/v1/payments", payment_body(receivable)),
    ):
        if body is None:
            response = client.get(path, **extra)  # type: ignore[arg-type]
        else:
            response = client.post(
                path,
                data=json.dumps(body),
                content_type="application/json",
                **extra,  # type: ignore[arg-type]
            )
        assert_problem(response, 401, "unauthorized")
        assert response["WWW-Authenticate"] == "Bearer"
    assert counts() == before


def test_a_mistyped_unknown_or_revoked_key_is_401(
    client: Client, org: Organisation, receivable: Receivable
) -> None:
    from rathauskasse.api import services as api_services

    token = make_key(org)
    before = counts()
    mistyped = token[:-1] + ("A" if token[-1] != "A" else "B")
    wrong_secret = keys.NewKey(mode="test", key_id=token.split("_")[1], secret="x" * 32).token
    revoked = make_key(org)
    api_services.revoke_api_key(
        actor=factories.ACTOR, api_key=ApiKey.objects.get(key_id=revoked.split("_")[1])
    )
    before = counts()
    for bad in (mistyped, wrong_secret, _well_formed_unknown_key(), revoked, "live" + token[4:]):
        response = call(client, "post", "/api/v1/payments", bad, payment_body(receivable))
        assert_problem(response, 401, "unauthorized")
    assert counts() == before


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/api/v1/receivables", Scope.RECEIVABLES_READ),
        ("post", "/api/v1/receivables", Scope.RECEIVABLES_WRITE),
        ("get", "/api/v1/payments", Scope.PAYMENTS_READ),
        ("post", "/api/v1/payments", Scope.PAYMENTS_WRITE),
        ("post", "/api/v1/refunds", Scope.REFUNDS_WRITE),
        ("get", "/api/v1/events", Scope.EVENTS_READ),
    ],
)
def test_a_key_without_the_scope_is_403_and_changes_nothing(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    receivable: Receivable,
    method: str,
    path: str,
    scope: Scope,
) -> None:
    token = make_key(org, scopes=[s for s in Scope.values if s != scope])
    bodies = {
        "/api/v1/receivables": receivable_body(department, budget_line),
        "/api/v1/payments": payment_body(receivable),
        "/api/v1/refunds": {"payment": "00000000-0000-4000-8000-000000000000", "reason": "x"},
    }
    before = counts()
    response = call(
        client,
        method,
        path,
        token,
        bodies[path] if method == "post" else None,
        **{"Idempotency-Key": "scope-1"},
    )
    assert_problem(response, 403, "forbidden")
    assert str(scope) in response.json()["title"]
    assert counts() == before


class LiveProvider(SandboxProvider):
    """A provider that moves real money, as far as the platform can tell."""

    identifier = "livepay"
    capabilities = Capabilities(methods=frozenset({"card"}), test_only=False)


def test_test_keys_pay_only_through_the_sandbox_whatever_is_configured(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    settings: Any,
) -> None:
    settings.API_PAYMENT_PROVIDER = "livepay"
    test_key, live_key = make_key(org, mode="test"), make_key(org, mode="live")
    first = factories.receivable(org, department, budget_line, 1000)
    second = factories.receivable(org, department, budget_line, 2000)
    with registry.override("livepay", LiveProvider(secret="live-secret")):
        by_test = call(client, "post", "/api/v1/payments", test_key, payment_body(first))
        by_live = call(client, "post", "/api/v1/payments", live_key, payment_body(second))
    assert by_test.status_code == by_live.status_code == 201, (by_test.content, by_live.content)
    assert by_test.json()["provider"] == "sandbox"
    assert by_live.json()["provider"] == "livepay"
    assert Payment.objects.get(public_id=by_test.json()["id"]).provider == "sandbox"


def test_the_rate_limit_is_per_key_says_when_to_retry_and_ends_with_the_window(
    client: Client, org: Organisation, settings: Any, receivable: Receivable
) -> None:
    settings.API_RATE_LIMIT = 2
    token, other = make_key(org), make_key(org)
    start = dt.datetime(2026, 11, 25, 10, 0, 45, tzinfo=dt.UTC)
    with clock.frozen(start):
        ok = [call(client, "get", "/api/v1/receivables", token) for _ in range(2)]
        before = counts()
        limited = call(client, "post", "/api/v1/payments", token, payment_body(receivable))
        assert counts() == before
        assert call(client, "get", "/api/v1/receivables", other).status_code == 200
    assert [r.status_code for r in ok] == [200, 200]
    assert_problem(limited, 429, "rate_limited")
    assert limited["Retry-After"] == "15"
    assert limited.json()["retry_after"] == 15
    with clock.frozen(start + dt.timedelta(seconds=15)):
        assert call(client, "get", "/api/v1/receivables", token).status_code == 200


def test_a_method_a_path_does_not_have_is_a_405_problem(client: Client, token: str) -> None:
    response = call(client, "delete", "/api/v1/receivables", token)
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"] and "POST" in response["Allow"]


@pytest.mark.parametrize(
    ("place", "text"),
    [("lines.0.text", "Hunde\x00steuer"), ("debtor.name", "Erika \ud800"), ("purpose", "\x00")],
)
def test_text_no_database_can_hold_is_refused_where_it_stands(
    client: Client,
    token: str,
    department: Department,
    budget_line: BudgetLine,
    place: str,
    text: str,
) -> None:
    before = counts()
    body = receivable_body(department, budget_line)
    target: Any = body
    *parents, leaf = place.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[leaf] = text
    response = call(client, "post", "/api/v1/receivables", token, body)
    assert_problem(response, 422, "validation_failed", place)
    assert counts() == before


def test_a_reference_filter_with_nul_is_422_not_a_database_error(
    client: Client, token: str
) -> None:
    response = client.get(
        "/api/v1/receivables?reference=HST%004711", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert_problem(response, 422, "validation_failed", "reference")
