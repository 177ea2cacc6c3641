"""POST, GET and status as an online service sees them: every functionalCode, nothing half-done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client
from tests.api.xbezahldienste.conftest import BASE, Pair, basic, payment_request

from rathauskasse.api.models import XBezahldiensteTransaction
from rathauskasse.api.xbezahldienste import services
from rathauskasse.core import audit
from rathauskasse.ledger.models import JournalEntry
from rathauskasse.payments.models import Payment, PaymentStatus
from rathauskasse.receivables.models import Receivable, ReceivableSource, ReceivableStatus

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, int]:
    return (
        Receivable.objects.count(),
        Payment.objects.count(),
        JournalEntry.objects.count(),
        XBezahldiensteTransaction.objects.count(),
    )


@contextmanager
def nothing_written() -> Iterator[None]:
    before = _counts()
    yield
    assert _counts() == before


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["functionalCode"] == code
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    return body


def test_a_request_becomes_a_receivable_with_one_line_per_item_and_a_started_payment(
    pair: Pair,
) -> None:
    response = pair.post(payment_request())
    assert response.status_code == 200, response.content
    body = response.json()
    info = body["paymentInformation"]
    assert body["paymentRequest"] == payment_request()  # as received, numbers digit for digit
    assert info["status"] == "INITIAL"
    assert info["transactionRedirectUrl"].startswith("http://testserver/sandbox/bezahlen/")
    assert info["transactionUrl"] == (
        f"http://testserver{BASE}/paymenttransaction/dienst/hunde/{info['transactionId']}"
    )
    assert "paymentMethod" not in info
    assert "transactionTimestamp" not in info

    receivable = Receivable.objects.get(kassenzeichen=info["transactionReference"])
    assert receivable.organisation == pair.org
    assert receivable.department == pair.department
    assert receivable.source == ReceivableSource.XBEZAHLDIENSTE
    assert receivable.source_reference == "antrag-4711"
    assert receivable.amount_cents == 2930
    assert receivable.purpose == "Hundeanmeldung 4711 – Anmeldung eines Hundes, Steuermarke"
    assert (receivable.debtor_name, receivable.debtor_street) == (
        "Erika Mustermann",
        "Heidestraße 17",
    )
    assert (receivable.debtor_postcode, receivable.debtor_city) == ("51147", "Köln")
    assert receivable.debtor_account == "4711"  # Personenkonto, mapped from bookingData
    first, second = receivable.lines.order_by("position")
    assert (first.text, first.amount_cents, first.budget_line.code) == (
        "Steuermarke",
        2380,
        "611010.401300",
    )
    assert first.booking_data == {
        "Haushaltsstelle": "611010.401300",
        "xbd.id": "pos-1",
        "xbd.reference": "HST-MARKE",
        "xbd.taxRate": "19",
        "xbd.quantity": "2",
        "xbd.totalNetCents": "2000",
        "xbd.totalTaxCents": "380",
    }
    assert (second.amount_cents, second.budget_line.code) == (550, "122010.431100")
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_cents, payment.method) == (
        PaymentStatus.STARTED,
        2930,
        "card",
    )
    assert payment.description == "Hundeanmeldung 4711"
    assert payment.return_url == (
        f"http://testserver/xbezahldienste/zurueck/{info['transactionId']}/"
    )


def test_the_same_request_id_again_is_payment_exists_with_the_first_transaction(
    pair: Pair,
) -> None:
    first = pair.post(payment_request()).json()["paymentInformation"]["transactionId"]
    with nothing_written():
        body = _problem(pair.post(payment_request()), 409, "PAYMENT_EXISTS")
    assert body["transactionId"] == first
    # The client whose answer was lost finds its transaction by the requestId.
    by_request = pair.get("antrag-4711")
    assert by_request.status_code == 200
    assert by_request.json()["paymentInformation"]["transactionId"] == first


def test_a_request_without_requestor_and_defaults_books_on_the_default_line(pair: Pair) -> None:
    body = payment_request(requestor=None, grosAmount=5.5)
    body["items"] = [dict(body["items"][1], bookingData={"Haushaltsstelle": "122010.431100"})]
    pair.endpoint.booking_data_mapping = {}
    pair.endpoint.save()
    response = pair.post(body)
    assert response.status_code == 200, response.content
    receivable = Receivable.objects.get()
    assert (receivable.debtor_name, receivable.debtor_street, receivable.debtor_country) == (
        "unbekannt",
        "",
        "",
    )
    assert receivable.lines.get().budget_line == pair.default_line


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"grosAmount": 29.31}, "ergeben 29,30"),
        ({"items.0.totalNetAmount": 21, "grosAmount": 30.30}, "2 × 10,00"),
        ({"items.1.singleTaxAmount": 0.5}, "Steuer"),
    ],
)
def test_sums_that_do_not_add_up_are_a_calculation_error(
    pair: Pair, change: dict[str, Any], needle: str
) -> None:
    body = payment_request()
    for key, value in change.items():
        if key.startswith("items."):
            _, index, field = key.split(".")
            body["items"][int(index)][field] = value
        else:
            body[key] = value
    with nothing_written():
        problem = _problem(pair.post(body), 400, "CALCULATION_ERROR")
    assert needle in problem["detail"].replace("\u00a0", " ")


def test_missing_required_booking_data_names_item_and_key(pair: Pair) -> None:
    body = payment_request()
    body["items"][1]["bookingData"] = {"Personenkonto": "4711"}
    with nothing_written():
        problem = _problem(pair.post(body), 400, "BOOKING_DATA_MISSING")
    assert "Position 2" in problem["detail"]
    assert "pos-2" in problem["detail"]
    assert "Haushaltsstelle" in problem["detail"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"currency": "USD"}, "currency"),
        ({"unknownField": 1}, "unknownField"),
        ({"grosAmount": "29.30"}, "grosAmount"),
        ({"grosAmount": True}, "grosAmount"),
        ({"grosAmount": -29.30}, "grosAmount"),
        ({"grosAmount": 1e12}, "grosAmount"),
        ({"purpose": "x" * 28}, "purpose"),
        ({"purpose": "Gebühr <script>"}, "purpose"),
        ({"requestId": "a/b"}, "requestId"),
        ({"requestId": "x" * 37}, "requestId"),
        ({"redirectUrl": "javascript:alert(1)"}, "redirectUrl"),
        ({"requestTimestamp": "2026-11-02T10:15:00"}, "requestTimestamp"),
        ({"items": []}, "items"),
        ({"requestor": {"gender": "X"}}, "requestor.gender"),
        ({"requestor": {"email": "keine-adresse"}}, "E-Mail"),
    ],
)
def test_invalid_fields_are_a_validation_error_naming_the_field(
    pair: Pair, change: dict[str, Any], needle: str
) -> None:
    with nothing_written():
        problem = _problem(pair.post(payment_request(**change)), 400, "VALIDATION_ERROR")
    assert needle in problem["detail"]


def test_item_level_validation(pair: Pair) -> None:
    body = payment_request()
    body["items"][0]["quantity"] = 2.0
    body["items"][1]["bookingData"]["xbd.id"] = "fremd"
    with nothing_written():
        problem = _problem(pair.post(body), 400, "VALIDATION_ERROR")
    assert "items[0].quantity" in problem["detail"]
    body = payment_request()
    body["items"] = [body["items"][0]] * 100
    with nothing_written():
        assert "items" in _problem(pair.post(body), 400, "VALIDATION_ERROR")["detail"]


def test_a_fraction_of_a_cent_is_refused_but_trailing_zeros_are_fine(pair: Pair) -> None:
    text = json.dumps(payment_request())
    with nothing_written():
        refused = pair.post(text.replace('"grosAmount": 29.3', '"grosAmount": 29.305'))
        assert "Nachkommastellen" in _problem(refused, 400, "VALIDATION_ERROR")["detail"]
    accepted = pair.post(text.replace('"grosAmount": 29.3', '"grosAmount": 29.3000'))
    assert accepted.status_code == 200, accepted.content
    assert b'"grosAmount":29.3000' in accepted.content  # echoed as sent


def test_an_unknown_budget_line_code_is_named(pair: Pair) -> None:
    body = payment_request()
    body["items"][0]["bookingData"]["Haushaltsstelle"] = "999999.999999"
    with nothing_written():
        problem = _problem(pair.post(body), 400, "VALIDATION_ERROR")
    assert "999999.999999" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b'{"requestId": ', "application/json", 400, "kein gültiges JSON"),
        (b"\xff\xfe{}", "application/json", 400, "UTF-8"),
        (b"[1, 2]", "application/json", 400, "JSON-Objekt"),
        (b'"text"', "application/json", 400, "JSON-Objekt"),
        (b'{"a": 1, "a": 2}', "application/json", 400, "mehrfach"),
        (b'{"grosAmount": NaN}', "application/json", 400, "NaN"),
        (b"[" * 100_000, "application/json", 400, "JSON"),
        (b"requestId=1", "application/x-www-form-urlencoded", 415, "application/json"),
        (b"{}", "application/json; charset=latin-1", 415, "UTF-8"),
        (b"{}", "application/json", 400, "requestId fehlt"),
    ],
)
def test_bad_bodies_are_problems_and_write_nothing(
    pair: Pair, body: bytes, content_type: str, status: int, needle: str
) -> None:
    with nothing_written():
        problem = _problem(pair.post(body, content_type=content_type), status, "VALIDATION_ERROR")
    assert needle in problem["detail"]


def test_an_oversized_body_is_refused_before_it_is_read(pair: Pair) -> None:
    with nothing_written():
        response = pair.post(b"{" + b" " * (256 * 1024) + b"}")
    _problem(response, 413, "VALIDATION_ERROR")


def test_get_of_an_unknown_transaction_is_404_validation_error(pair: Pair) -> None:
    _problem(pair.get("rk-gibt-es-nicht"), 404, "VALIDATION_ERROR")
    _problem(pair.get("x" * 37), 400, "VALIDATION_ERROR")


def test_status_says_usable_or_not(pair: Pair, client: Client) -> None:
    url = f"{BASE}/status/{pair.path}"
    ok = client.get(url, HTTP_AUTHORIZATION=basic())
    assert ok.status_code == 200
    assert {"type", "title", "status", "detail"} <= set(ok.json())
    _problem(client.get(url), 403, "FORBIDDEN")
    pair.endpoint.provider = "gibt-es-nicht"
    pair.endpoint.save()
    _problem(client.get(url, HTTP_AUTHORIZATION=basic()), 503, "UNSPECIFIED")
    pair.endpoint.provider = "sandbox"
    pair.endpoint.is_enabled = False
    pair.endpoint.save()
    _problem(client.get(url, HTTP_AUTHORIZATION=basic()), 503, "UNSPECIFIED")
    with nothing_written():
        _problem(pair.post(payment_request()), 503, "UNSPECIFIED")


def test_the_return_page_only_ever_leads_to_the_stored_redirect_url(
    pair: Pair, client: Client
) -> None:
    info = pair.post(payment_request()).json()["paymentInformation"]
    back = client.get(
        f"/xbezahldienste/zurueck/{info['transactionId']}/?next=https://evil.example/"
    )
    assert back.status_code == 303
    assert back["Location"] == "https://dienst.example/zurueck?antrag=4711"
    assert client.get("/xbezahldienste/zurueck/rk-unbekannt/").status_code == 404
    assert client.post(f"/xbezahldienste/zurueck/{info['transactionId']}/").status_code == 405


def test_transactions_are_audited(pair: Pair) -> None:
    from rathauskasse.core.models import AuditEntry

    pair.post(payment_request())
    entry = AuditEntry.objects.get(action="xbezahldienste.transaction.created")
    assert entry.actor_label == "xbezahldienste:dienst/hunde"
    assert entry.after["amount_cents"] == 2930
    assert entry.organisation_id == pair.org.pk
    assert services.actor_of(pair.endpoint) == audit.Actor(label="xbezahldienste:dienst/hunde")


def test_receivable_status_open_until_paid(pair: Pair) -> None:
    pair.post(payment_request())
    assert Receivable.objects.get().status == ReceivableStatus.OPEN


def test_a_repeat_on_a_switched_off_pair_still_names_the_transaction(pair: Pair) -> None:
    first = pair.post(payment_request()).json()["paymentInformation"]["transactionId"]
    pair.endpoint.is_enabled = False
    pair.endpoint.save()
    assert _problem(pair.post(payment_request()), 409, "PAYMENT_EXISTS")["transactionId"] == first
    assert pair.get(first).status_code == 200  # earlier payments stay readable
    _problem(pair.post(payment_request(requestId="neu")), 503, "UNSPECIFIED")


def test_a_method_the_path_does_not_have_is_a_problem_with_allow(pair: Pair) -> None:
    response = pair.client.delete(
        f"{BASE}/paymenttransaction/{pair.path}", HTTP_AUTHORIZATION=pair.auth
    )
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/problem+json")
    assert response["Allow"] == "POST"
    assert response.json()["functionalCode"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("text", ["Steuer\x00marke", "Steuermarke \udc00"])
def test_text_no_database_can_hold_is_a_validation_error(pair: Pair, text: str) -> None:
    body = payment_request()
    body["items"][0]["bookingData"]["Bemerkung"] = text
    response = pair.post(body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["functionalCode"] == "VALIDATION_ERROR"
    assert "items.0.bookingData.Bemerkung" in problem["detail"]
    assert not XBezahldiensteTransaction.objects.exists()
