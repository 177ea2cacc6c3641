"""Test helpers that are not fixtures."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from django.test import Client
from django_tasks.backends.dummy import DummyBackend


class DjangoClientTransport(httpx.BaseTransport):
    """Sends httpx requests to this Django app in-process, inside the test's transaction."""

    def __init__(self) -> None:
        self.client = Client()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("content-length", "host")
        }
        response = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            data=request.read(),
            content_type=request.headers.get("content-type", "application/octet-stream"),
            headers=headers,
        )
        return httpx.Response(response.status_code, content=response.content)


class InstantProvider:
    """A provider double that accepts everything at once (for property tests of the books)."""

    identifier = "sandbox"
    name = "Sofort"

    def __init__(self) -> None:
        from rathauskasse.payments.contract import Capabilities

        self.capabilities = Capabilities(methods=frozenset({"card"}))

    def start(self, request: object) -> object:
        from rathauskasse.payments.contract import StartResult

        ref = f"ip_{request.payment_reference}"  # type: ignore[attr-defined]
        return StartResult(provider_reference=ref, redirect_url=f"http://testserver/{ref}")

    def parse_notification(self, notification: object) -> object:
        raise NotImplementedError  # never notifies

    def poll(self, **kwargs: object) -> None:
        return None

    def cancel(self, **kwargs: object) -> object:
        raise NotImplementedError  # never asked in these tests

    def refund(self, request: object) -> object:
        from rathauskasse.payments.contract import RefundResult

        return RefundResult(succeeded=True, provider_refund_reference="r")


class SharedDummyBackend(DummyBackend):
    """Django-tasks' dummy backend, with one queue for all threads.

    The live server of the browser tests handles requests in its own thread; the tasks its views
    enqueue must show up where the test runs them.
    """

    shared_results: ClassVar[list[Any]] = []

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.results = self.shared_results
