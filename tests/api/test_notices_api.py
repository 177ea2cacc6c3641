"""REST API v1: issuing notices and downloading their letters (scopes, tenancy, idempotency)."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from tests import factories
from tests.api.test_v1 import call, make_key

from rathauskasse.api.models import Scope
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import services
from rathauskasse.receivables.models import Notice

pytestmark = pytest.mark.django_db


def test_issue_a_notice_and_download_its_letter(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line, 9600)

    answer = call(client, "post", f"/api/v1/receivables/{receivable.pk}/notice", token, {})

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["kind"] == "notice"
    assert (body["sequence"], body["amount_cents"], body["channel"]) == (1, 9600, "email")
    pdf = call(client, "get", body["pdf_url"].removeprefix("http://testserver"), token)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == body["checksum"]
    listed = call(client, "get", f"/api/v1/receivables/{receivable.pk}/notices", token).json()
    assert [n["id"] for n in listed["data"]] == [body["id"]]


def test_a_letter_can_be_asked_for_by_post(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line)
    answer = call(
        client, "post", f"/api/v1/receivables/{receivable.pk}/notice", token, {"channel": "print"}
    )
    assert answer.json()["channel"] == "print"
    assert answer.json()["delivered_at"] is None  # marked for print


def test_the_same_idempotency_key_issues_once(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line)
    path = f"/api/v1/receivables/{receivable.pk}/notice"
    first = call(client, "post", path, token, {}, **{"Idempotency-Key": "bescheid-1"})
    second = call(client, "post", path, token, {}, **{"Idempotency-Key": "bescheid-1"})
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert Notice.objects.count() == 1


def test_paid_or_cancelled_is_a_problem(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    token = make_key(org)
    receivable = factories.receivable(org, department, budget_line)
    services.cancel_receivable(actor=factories.ACTOR, receivable=receivable, reason="Irrtum")
    answer = call(client, "post", f"/api/v1/receivables/{receivable.pk}/notice", token, {})
    assert answer.status_code == 409
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "notice_refused"
    assert "storniert" in answer.json()["title"]
    no_mail = factories.receivable(
        org, department, budget_line, debtor=services.Debtor(name="Ohne Adresse")
    )
    refused = call(
        client, "post", f"/api/v1/receivables/{no_mail.pk}/notice", token, {"channel": "email"}
    )
    assert (refused.status_code, refused.json()["field"]) == (409, "channel")


def test_scopes_are_enforced(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line)
    reader = make_key(org, scopes=[Scope.RECEIVABLES_READ])
    writer = make_key(org, scopes=[Scope.RECEIVABLES_WRITE])
    refused = call(client, "post", f"/api/v1/receivables/{receivable.pk}/notice", reader, {})
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    notice = call(client, "post", f"/api/v1/receivables/{receivable.pk}/notice", writer, {}).json()
    path = f"/api/v1/receivables/{receivable.pk}/notices/{notice['id']}.pdf"
    assert call(client, "get", path, writer).status_code == 403
    assert call(client, "get", path, reader).status_code == 200
    assert call(client, "get", path, None).status_code == 401


def test_another_organisation_or_department_sees_nothing(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line)
    mine = make_key(org)
    notice = call(client, "post", f"/api/v1/receivables/{receivable.pk}/notice", mine, {}).json()
    other = factories.organisation()
    theirs = make_key(other)
    office = factories.department(org, name="Ordnungsamt")
    elsewhere = make_key(org, departments=[office])
    for token in (theirs, elsewhere):
        for method, path, body in (
            ("post", f"/api/v1/receivables/{receivable.pk}/notice", {}),
            ("get", f"/api/v1/receivables/{receivable.pk}/notices", None),
            ("get", f"/api/v1/receivables/{receivable.pk}/notices/{notice['id']}.pdf", None),
        ):
            answer = call(client, method, path, token, body)
            assert answer.status_code == 404, (method, path)
            assert answer.json()["code"] == "not_found"
    # A notice id of another receivable is not found under this one.
    second = factories.receivable(org, department, budget_line)
    wrong = f"/api/v1/receivables/{second.pk}/notices/{notice['id']}.pdf"
    assert call(client, "get", wrong, mine).status_code == 404
    assert Notice.objects.count() == 1
