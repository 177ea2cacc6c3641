"""The REST API v1: authentication by API key, scopes, rate limits, problem+json, idempotency.

Every error leaves as RFC 9457 `application/problem+json` with a stable `code` (catalogue in
docs/api/errors.md), the offending `field` where there is one, and no internals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from rathauskasse.api import services
from rathauskasse.api.models import ApiKey, IdempotentResponse, Scope
from rathauskasse.api.problems import CONTENT_TYPE, problem
from rathauskasse.core import audit, clock, ratelimit
from rathauskasse.core.errors import Conflict, DomainError

IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class KeyAuth(HttpBearer):
    """`Authorization: Bearer live_…` or `test_…`; also counts the key's rate limit."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        api_key = services.authenticate(token)
        if api_key is None:
            return None
        verdict = ratelimit.hit(key=f"api:{api_key.pk}", limit=settings.API_RATE_LIMIT)
        if not verdict.allowed:
            raise RateLimited(
                "Zu viele Anfragen mit diesem Schlüssel.", retry_after=verdict.retry_after
            )
        return api_key


api = NinjaAPI(
    title="Rathauskasse API",
    version="1",
    description=(
        "Receivables and payments of a German municipality. Amounts are integer cents (EUR). "
        "Authenticate with `Authorization: Bearer <API key>`. Every POST accepts an "
        "`Idempotency-Key` header. Errors are RFC 9457 problem details with a stable `code`."
    ),
    auth=KeyAuth(),
    urls_namespace="api-v1",
)


def _problem_response(
    *, status: int, code: str, title: str, field: str | None = None, **extra: Any
) -> JsonResponse:
    body: dict[str, Any] = {
        "type": f"https://rathauskasse.de/probleme/{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if field:
        body["field"] = field
    body.update(extra)
    return JsonResponse(body, status=status, content_type=CONTENT_TYPE)


@api.exception_handler(DomainError)
def _domain_error(_request: HttpRequest, error: DomainError) -> HttpResponse:
    response = problem(error)
    retry_after = error.params.get("retry_after")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(_request: HttpRequest, _error: AuthenticationError) -> HttpResponse:
    response = problem(Unauthorized("Kein gültiger API-Schlüssel (Authorization: Bearer …)."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(NinjaValidationError)
def _invalid(_request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    errors: dict[str, str] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in ("body", "payload")]
        errors[".".join(location) or "body"] = str(item.get("msg", "ungültig"))
    field, message = next(iter(errors.items()))
    return _problem_response(
        status=422, code="validation_failed", title=message, field=field, errors=errors
    )


@api.exception_handler(HttpError)
def _http_error(_request: HttpRequest, error: HttpError) -> HttpResponse:
    return _problem_response(status=error.status_code, code="bad_request", title=str(error))


def key_of(request: HttpRequest) -> ApiKey:
    api_key: ApiKey = request.auth  # type: ignore[attr-defined]
    return api_key


def require(request: HttpRequest, scope: Scope) -> ApiKey:
    api_key = key_of(request)
    if scope not in api_key.scopes:
        raise Forbidden(f"Diesem Schlüssel fehlt das Recht „{scope}“.", scope=str(scope))
    return api_key


def department_ids(api_key: ApiKey) -> list[int] | None:
    """The departments a key is limited to, or None for the whole organisation."""
    ids = [d.pk for d in api_key.departments.all()]
    return ids or None


def json_response(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type="application/json"
    )


def idempotent(request: HttpRequest, run: Callable[[], tuple[int, Any]]) -> HttpResponse:
    """Answer a POST once per `Idempotency-Key`: the same key and body replay the first answer.

    The key is reserved before the work starts (so a concurrent duplicate gets a 409 instead of
    doing the work twice) and the answer stored after it, errors included; a crash frees it.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        status, body = run()
        return json_response(status, body)
    if not 1 <= len(key) <= 255:
        raise IdempotencyConflict("Der Idempotency-Key muss 1 bis 255 Zeichen lang sein.")
    api_key = key_of(request)
    digest = hashlib.sha256(
        (request.method or "").encode() + b" " + request.path.encode() + b"\n" + request.body
    ).hexdigest()
    now = clock.now()
    IdempotentResponse.objects.filter(
        api_key=api_key, key=key, created_at__lt=now - IDEMPOTENCY_WINDOW
    ).delete()
    try:
        with transaction.atomic():  # a savepoint: a duplicate key leaves the connection usable
            record = IdempotentResponse.objects.create(
                api_key=api_key, key=key, request_digest=digest, status=0, body=b"", created_at=now
            )
    except IntegrityError:
        first = IdempotentResponse.objects.get(api_key=api_key, key=key)
        if first.request_digest != digest:
            raise IdempotencyConflict(
                "Dieser Idempotency-Key wurde schon für eine andere Anfrage benutzt.",
                field="Idempotency-Key",
            ) from None
        if first.status == 0:
            raise IdempotencyConflict(
                "Die erste Anfrage mit diesem Idempotency-Key läuft noch.",
                field="Idempotency-Key",
            ) from None
        replay = HttpResponse(
            bytes(first.body), status=first.status, content_type=_content_type(first.status)
        )
        replay["Idempotent-Replayed"] = "true"
        return replay
    try:
        status, body = run()
        response = json_response(status, body)
    except DomainError as error:
        response = _domain_error(request, error)
    except Exception:
        record.delete()
        raise
    IdempotentResponse.objects.filter(pk=record.pk).update(
        status=response.status_code, body=response.content
    )
    return response


def _content_type(status: int) -> str:
    return "application/json" if status < 400 else CONTENT_TYPE


def actor_of(api_key: ApiKey) -> audit.Actor:
    return audit.Actor(label=f"api:{api_key.key_id}")
