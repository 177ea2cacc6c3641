"""An XBezahldienste service in memory that answers with recorded bodies, and a connection to it.

The bodies under `responses/` are shaped exactly like XBezahldienste v1.0.0 answers (each file
holds the status, headers and body of one answer). `recorded()` replays one as it is; the
`FakeService` keeps transactions and answers from the same files with the values of the request
it got, for the flows through the payments domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rathauskasse.organisations.models import Organisation
from rathauskasse.payments import registry
from rathauskasse.providers.xbezahldienste import client
from rathauskasse.providers.xbezahldienste.adapter import XBezahldiensteProvider
from rathauskasse.providers.xbezahldienste.models import Connection

HERE = Path(__file__).parent
BASE_URL = "https://bezahldienst.example/xbezahldienste/v1"
COLLECTION = f"{BASE_URL}/paymenttransaction/RK-MUSTERSTADT/GEBUEHREN"
REQUEST_ID = "5f0c8a8e-3b7d-4c1e-9a26-0d4b7e9c2f61"
TRANSACTION_ID = "EPB-7F3K9Q2M"


def body_of(name: str) -> Any:
    """A recorded body, with its numbers as exact decimals."""
    text = (HERE / "responses" / f"{name}.json").read_bytes()
    return client.loads(text)["body"]


def recorded(name: str, *, status: int | None = None, body: Any = None) -> httpx.Response:
    """Replay a recorded answer (optionally with another status code or body)."""
    exchange = client.loads((HERE / "responses" / f"{name}.json").read_bytes())
    return httpx.Response(
        status or exchange["status"],
        headers=exchange["headers"],
        content=client.dumps(exchange["body"] if body is None else body),
    )


def expected_request() -> Any:
    return client.loads((HERE / "requests" / "payment_request.json").read_bytes())


Fault = httpx.Response | type[Exception] | str


@dataclass
class FakeService:
    """A stateful XBezahldienste service; `faults` are played before normal answers.

    A fault is a response to give instead, an httpx exception to raise before the request
    reaches the service, or "lost": the service does the work and the answer gets lost.
    """

    requests: list[httpx.Request] = field(default_factory=list)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    #: Our own server: PAYMENT_EXISTS names the transaction, and GET finds it by requestId too.
    names_existing: bool = True
    finds_by_request_id: bool = True
    on_token: Callable[[httpx.Request], httpx.Response] | None = None

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def posts(self) -> list[httpx.Request]:
        return [
            r for r in self.requests if r.method == "POST" and "paymenttransaction" in str(r.url)
        ]

    def gets(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "GET"]

    def set_status(self, request_id: str, status: str, **information: Any) -> None:
        transaction = next(
            t for t in self.transactions.values() if t["request"]["requestId"] == request_id
        )
        transaction["status"] = status
        transaction["information"] = information

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_token is not None and "token" in request.url.path:
            return self.on_token(request)
        lose = False
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, httpx.Response):
                return fault
            if isinstance(fault, type):
                raise fault("scripted fault", request=request)  # type: ignore[call-arg]
            lose = fault == "lost"
        response = self._answer(request)
        if lose:
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    def _answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        collection = "/xbezahldienste/v1/paymenttransaction/RK-MUSTERSTADT/GEBUEHREN"
        if request.method == "POST" and path == collection:
            sent = client.loads(request.content)
            existing = self._find(sent["requestId"], by_request_id=True)
            if existing is not None:
                problem = body_of(
                    "problem_payment_exists"
                    if self.names_existing
                    else "problem_payment_exists_plain"
                )
                if self.names_existing:
                    problem["transactionId"] = existing["id"]
                return recorded("problem_payment_exists", body=problem)
            transaction_id = f"EPB-{uuid.uuid4().hex[:8].upper()}"
            self.transactions[transaction_id] = {
                "id": transaction_id,
                "request": sent,
                "status": "INITIAL",
                "information": {},
            }
            return self._transaction(self.transactions[transaction_id], status=201)
        if request.method == "GET" and path.startswith(collection + "/"):
            wanted = path.rsplit("/", 1)[-1]
            found = self._find(wanted, by_request_id=self.finds_by_request_id)
            if found is None:
                return recorded("problem_transaction_unknown")
            return self._transaction(found, status=200)
        return httpx.Response(
            404, text="<html>Not Found</html>", headers={"Content-Type": "text/html"}
        )

    def _find(self, key: str, *, by_request_id: bool) -> dict[str, Any] | None:
        if key in self.transactions:
            return self.transactions[key]
        if by_request_id:
            return next(
                (t for t in self.transactions.values() if t["request"]["requestId"] == key), None
            )
        return None

    def _transaction(self, transaction: dict[str, Any], *, status: int) -> httpx.Response:
        name = {
            "INITIAL": "transaction_initial",
            "PAYED": "transaction_payed",
            "FAILED": "transaction_failed",
            "CANCELED": "transaction_canceled",
        }[transaction["status"]]
        body = body_of(name)
        body["paymentRequest"] = transaction["request"]
        information = body["paymentInformation"]
        information["transactionId"] = transaction["id"]
        information["transactionUrl"] = f"{COLLECTION}/{transaction['id']}"
        if "transactionRedirectUrl" in information:
            information["transactionRedirectUrl"] = (
                f"https://bezahldienst.example/bezahlen/{transaction['id']}"
            )
        information.update(transaction["information"])
        return recorded(name, status=status, body=body)


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def provider(service: FakeService, sleeps: list[float]) -> Iterator[XBezahldiensteProvider]:
    adapter = XBezahldiensteProvider(transport=service.transport, sleep=sleeps.append)
    with registry.override("xbezahldienste", adapter):
        yield adapter


@pytest.fixture
def connection(org: Organisation) -> Connection:
    return make_connection(org)


def make_connection(org: Organisation, **overrides: Any) -> Connection:
    fields: dict[str, Any] = {
        "organisation": org,
        "name": "ePayBL Land",
        "base_url": BASE_URL,
        "originator_id": "RK-MUSTERSTADT",
        "endpoint_id": "GEBUEHREN",
        "auth_mode": "basic",
        "basic_user": "musterstadt",
        "basic_password": "geheim-basic-0815",
    }
    fields.update(overrides)
    connection = Connection(**fields)
    connection.full_clean()
    connection.save()
    return connection


def config(**overrides: Any) -> client.ConnectionConfig:
    fields: dict[str, Any] = {
        "id": 7,
        "base_url": BASE_URL,
        "originator_id": "RK-MUSTERSTADT",
        "endpoint_id": "GEBUEHREN",
        "auth": client.AuthMode.BASIC,
        "basic_user": "musterstadt",
        "basic_password": "geheim-basic-0815",
    }
    fields.update(overrides)
    return client.ConnectionConfig(**fields)


def json_of(request: httpx.Request) -> Any:
    return client.loads(request.content)
