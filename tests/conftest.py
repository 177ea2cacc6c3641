"""Shared fixtures: a demo-like organisation, and control over background tasks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connection
from django_tasks import default_task_backend
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from rathauskasse.core import clock
from rathauskasse.core.models import User
from rathauskasse.ledger import services as ledger_services
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.providers.sandbox import server
from tests import factories
from tests.support import DjangoClientTransport

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# Properties must not depend on how busy the machine is: no deadline per example, and no
# "too slow" health check (a loaded CI machine makes generation slow, not the code wrong).
hypothesis_settings.register_profile(
    "rathauskasse", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("rathauskasse")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("RATHAUSKASSE_REQUIRE_POSTGRES") and not ON_POSTGRES:
        raise pytest.UsageError(
            "RATHAUSKASSE_REQUIRE_POSTGRES is set, but DATABASE_URL is not PostgreSQL"
        )
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the network; a socket to anywhere but the database is an error."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "localhost", "::1") and not isinstance(address, str | bytes):
            raise RuntimeError(f"network access in tests: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise RuntimeError(f"network access in tests: looking up {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture(autouse=True)
def _sandbox_delivers_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sandbox's webhooks reach this app in-process, as they would over HTTP."""
    monkeypatch.setattr(server, "http_transport", DjangoClientTransport())


@pytest.fixture(autouse=True)
def _forget_cached_accounts() -> Iterator[None]:
    """Account ids cached after a test's (never committed) transaction would outlive its rows."""
    ledger_services.forget_cached_accounts()
    yield
    ledger_services.forget_cached_accounts()


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Rate limits live in the cache; each test starts with none counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _clear_tasks() -> Iterator[None]:
    default_task_backend.clear()  # type: ignore[attr-defined]
    yield
    default_task_backend.clear()  # type: ignore[attr-defined]


def _flush_on_commit() -> None:
    """Run on-commit callbacks now: a test inside a transaction never commits."""
    while connection.run_on_commit:
        pending = list(connection.run_on_commit)
        del connection.run_on_commit[:]
        for _savepoints, callback, _robust in pending:
            callback()


@pytest.fixture
def run_tasks() -> Callable[..., list[str]]:
    """Run the enqueued tasks that are due (and those they enqueue); returns their names."""

    def run() -> list[str]:
        executed: list[str] = []
        while True:
            _flush_on_commit()
            results = default_task_backend.results  # type: ignore[attr-defined]
            due = [
                r for r in results if r.task.run_after is None or r.task.run_after <= clock.now()
            ]
            if not due:
                return executed
            for result in due:
                results.remove(result)
                result.task.call(*result.args, **result.kwargs)
                executed.append(result.task.name)

    return run


@pytest.fixture
def org(db: None) -> Organisation:
    return factories.organisation()


@pytest.fixture
def department(org: Organisation) -> Department:
    return factories.department(org)


@pytest.fixture
def budget_line(org: Organisation) -> BudgetLine:
    return factories.budget_line(org)


@pytest.fixture
def clerk(db: None) -> User:
    return User.objects.create_user("clerk", password="x")
