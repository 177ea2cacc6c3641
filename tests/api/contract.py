"""A reusable schemathesis harness: run every operation of an OpenAPI document against this app.

`load(path)` reads a committed OpenAPI document (the served one is compared with it in a test)
and points it at Django's WSGI application, in-process. `run(case, headers=..., known=...)` sends
one generated request and checks the answer:

- no 5xx; status codes, content types, headers and bodies as the document declares them;
- errors are RFC 9457 problem details (`application/problem+json`, `status` equal to the HTTP
  status, a `code` from docs/api/errors.md), see `problem_details`;
- with `known`, a well-formed request is sent a second time with real ids of the fixture's data
  (path, query and body fields by name), so that the success paths are exercised too.

Each request runs in a savepoint that is rolled back afterwards, so every example sees the
fixture's data and nothing else; the test's own transaction (pytest-django) removes the fixture.
Runs are deterministic (fixed seed, derandomized, no example database) and bounded
(`MAX_EXAMPLES` fuzzed examples per operation, besides the examples and coverage phases); the
REST API takes about 20 s on SQLite and 25 s on PostgreSQL on one core.
"""

from __future__ import annotations

import copy
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from schemathesis import Case, CheckContext, Response
from schemathesis.generation import GenerationMode

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"
SEED = 20261125
MAX_EXAMPLES = 60
CATALOGUE = frozenset(re.findall(r"^\| `([a-z_]+)` \|", (DOCS / "errors.md").read_text(), re.M))
PROBLEM = "application/problem+json"


#: What a request the document calls valid may be answered with: business rules still apply.
BUSINESS_REFUSALS = ("2xx", "401", "403", "404", "409", "422", "429")


def load(
    path: Path,
    *,
    max_examples: int = MAX_EXAMPLES,
    expected_statuses: Sequence[str] = BUSINESS_REFUSALS,
) -> Any:
    """The OpenAPI document at `path`, aimed at this app's WSGI handler."""
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                # Query parameters an operation does not declare are ignored, as HTTP APIs
                # commonly do (bodies, in contrast, refuse unknown fields); don't send them.
                "allow-extra-parameters": False,
            },
            "phases": {"stateful": {"enabled": False}},
            # A request the document calls valid may still break a business rule (an unknown
            # department, a paid receivable): 404, 409 and 422 problems are answers, not bugs.
            # Whether the server's own schema validation agrees with the document is checked
            # separately (see test_schemathesis.accepted_by_the_schema).
            "checks": {"positive_data_acceptance": {"expected-statuses": list(expected_statuses)}},
        }
    )
    schema = schemathesis.openapi.from_dict(json.loads(path.read_text()), config=config)
    schema.app = get_wsgi_application()
    return schema


@contextmanager
def in_test_transaction() -> Iterator[None]:
    """Requests through the WSGI handler must not close the test's connection between requests.

    Django closes connections it finds in a transaction when a request starts and ends; the
    test client switches that off the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def rolled_back() -> Iterator[None]:
    with transaction.atomic():
        cache.clear()  # rate limits count per example, not per operation
        yield
        transaction.set_rollback(True)


def problem_details(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx is an RFC 9457 problem with a catalogued code and the response's status."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert content_type == PROBLEM, f"error answered as {content_type!r}, not {PROBLEM}"
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert body.get("status") == response.status_code, body
    assert body.get("code") in CATALOGUE, f"code {body.get('code')!r} is not in errors.md"
    assert isinstance(body.get("title"), str) and body["title"], body
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    return True


def _substitute(value: Any, known: Mapping[str, Sequence[Any]], pick: int) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                known[key][pick % len(known[key])]
                if key in known
                else _substitute(item, known, pick)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_substitute(item, known, pick) for item in value]
    return value


def _with_known(case: Case, known: Mapping[str, Sequence[Any]]) -> Case | None:
    """The same well-formed request, with the fixture's real ids where the names match."""
    # Deterministic (no salted hash()), and different from one example to the next.
    pick = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    path = _substitute(dict(case.path_parameters or {}), known, pick)
    query = _substitute(dict(case.query or {}), known, pick)
    body = case.body
    if isinstance(body, dict | list):
        body = _substitute(copy.deepcopy(body), known, pick)
    if path == case.path_parameters and query == (case.query or {}) and body == case.body:
        return None
    return case.operation.Case(
        path_parameters=path,
        query=query,
        headers=dict(case.headers or {}),
        body=body,
        media_type=case.media_type,
    )


def run(
    case: Case,
    *,
    headers: Mapping[str, str],
    known: Mapping[str, Sequence[Any]] | None = None,
    checks: Sequence[Callable[..., bool | None]] = (),
    problems: Callable[..., bool | None] = problem_details,
) -> None:
    """Send `case` (and, for well-formed cases, its variant with real ids) and check the answers.

    `problems` checks the error answers; the REST API's is `problem_details`, a document whose
    errors look different (XBezahldienste's `functionalCode`) passes its own.
    """
    additional = [problems, *checks]
    with rolled_back():
        case.call_and_validate(headers=dict(headers), additional_checks=additional)
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if known and positive:
        variant = _with_known(case, known)
        if variant is not None:
            with rolled_back():
                variant.call_and_validate(headers=dict(headers), additional_checks=additional)
