"""The REST API v1: authentication by API key, scopes, rate limits, problem+json, idempotency.

Every error leaves as RFC 9457 `application/problem+json` with a stable `code` (catalogue in
docs/api/errors.md), the offending `field` where there is one, and no internals.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.types import DictStrAny

from rathauskasse.api import services
from rathauskasse.api import text as text_checks
from rathauskasse.api.models import ApiKey, IdempotentResponse, Scope
from rathauskasse.api.problems import CONTENT_TYPE, problem
from rathauskasse.core import audit, clock, ratelimit, sql
from rathauskasse.core.errors import Conflict, DomainError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)

IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
#: Request bodies larger than this are refused with 413 (a receivable with 99 lines and full
#: booking data stays far below it).
MAX_BODY_BYTES = 256 * 1024
#: An `Idempotency-Key`: 1 to 255 visible ASCII characters (a UUID fits, so does a ULID).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


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


class BadRequest(DomainError):
    code = "bad_request"
    status = 400


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    status = 405


class InternalError(DomainError):
    code = "internal_error"
    status = 500


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), whatever Python's json module accepts."""
    raise ValueError(name)


class JsonBodyParser(Parser):
    """Request bodies are UTF-8 JSON of at most `MAX_BODY_BYTES`, sent as `application/json`.

    Anything else is refused before it is parsed: another media type (415), a larger body (413),
    bytes that are not UTF-8 or not JSON (400). django-ninja wraps what this raises into a 400
    `HttpError`; `_http_error` unwraps the problem again.
    """

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        media_type = (request.content_type or "").strip().lower()
        charset = (request.content_params or {}).get("charset", "utf-8").strip().lower()
        if media_type != "application/json" or charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(
                "Bitte senden Sie den Inhalt als JSON (Content-Type: application/json).",
                field="Content-Type",
            )
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"Der Inhalt ist größer als {MAX_BODY_BYTES // 1024} KiB.", field="body"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("Der Inhalt ist kein UTF-8.", field="body") from None
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            raise BadRequest("Der Inhalt ist kein gültiges JSON.", field="body") from None
        if not isinstance(data, dict):
            raise ValidationFailed({"body": "Der Inhalt muss ein JSON-Objekt sein."})
        where = text_checks.unstorable(data)
        if where is not None:
            raise ValidationFailed({where: text_checks.MESSAGE})
        return data


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


#: What each problem status means, for the OpenAPI document.
PROBLEM_STATUSES = {
    400: "The request could not be read: the body is not UTF-8 or not JSON (`bad_request`).",
    401: "No key, or a malformed, unknown or revoked one (`unauthorized`).",
    403: "The key lacks the scope, or is limited to other departments (`forbidden`).",
    404: "No such object for this key (`not_found`).",
    409: "The object's state does not allow this, or the `Idempotency-Key` is taken.",
    413: "The body is larger than 256 KiB (`payload_too_large`).",
    415: "The body is not `application/json` in UTF-8 (`unsupported_media_type`).",
    422: "The input breaks the schema or a rule; `errors` names every field.",
    429: "Too many requests with this key this minute; see `Retry-After` (`rate_limited`).",
}


def problems(*statuses: int) -> dict[int, Any]:
    """The problem responses of an operation: 401, 403 and 429 always, and `statuses`."""
    from rathauskasse.api.v1.schemas import Problem  # noqa: PLC0415 - schemas import nothing here

    return dict.fromkeys(sorted({401, 403, 429, *statuses}), Problem)


#: Problems of reads with parameters, and of writes with a JSON body.
READ = (422,)
WRITE = (400, 409, 413, 415, 422)


class RestApi(NinjaAPI):
    """django-ninja, with the document saying what the API really sends.

    Errors are `application/problem+json` (ninja would call them `application/json`); 401 and
    429 carry their headers; every POST takes an optional `Idempotency-Key`.
    """

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for path in schema["paths"].values():
            for method, operation in path.items():
                if method == "post":
                    operation.setdefault("parameters", []).append(
                        {
                            "in": "header",
                            "name": "Idempotency-Key",
                            "required": False,
                            "description": (
                                "Makes the POST safe to retry: the same key and body replay the "
                                "first answer for 24 hours (`Idempotent-Replayed: true`)."
                            ),
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 255,
                                "pattern": "^[\\x21-\\x7e]+$",
                            },
                        }
                    )
                for status, response in operation["responses"].items():
                    if int(status) < 400:
                        continue
                    response["description"] = PROBLEM_STATUSES.get(int(status), "Error")
                    response["content"] = {CONTENT_TYPE: response["content"]["application/json"]}
                    if status == "401":
                        response["headers"] = {
                            "WWW-Authenticate": {"schema": {"type": "string", "enum": ["Bearer"]}}
                        }
                    if status == "429":
                        response["headers"] = {
                            "Retry-After": {
                                "description": "Seconds until the key may send again.",
                                "required": True,
                                "schema": {"type": "integer", "minimum": 1},
                            }
                        }
        return schema

    @property
    def urls(self) -> tuple[list[Any], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if pattern.callback is not None:
                pattern.callback = _method_not_allowed_as_problem(pattern.callback)
        return patterns, app_name, namespace


def _method_not_allowed_as_problem(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
    """ninja answers a method a path does not have with a bare 405; make it a problem."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        answer = problem(
            MethodNotAllowed(f"{request.method} ist hier nicht erlaubt.", field="method")
        )
        answer["Allow"] = response["Allow"]
        return answer

    return wrapped


api = RestApi(
    title="Rathauskasse API",
    version="1",
    description=(
        "Receivables and payments of a German municipality. Amounts are integer cents (EUR). "
        "Authenticate with `Authorization: Bearer <API key>`. Every POST accepts an "
        "`Idempotency-Key` header. Errors are RFC 9457 problem details with a stable `code`."
    ),
    auth=KeyAuth(),
    urls_namespace="api-v1",
    parser=JsonBodyParser(),
)


@api.exception_handler(DomainError)
def _domain_error(_request: HttpRequest, error: DomainError) -> HttpResponse:
    return problem(error)


@api.exception_handler(AuthenticationError)
def _unauthenticated(_request: HttpRequest, _error: AuthenticationError) -> HttpResponse:
    response = problem(Unauthorized("Kein gültiger API-Schlüssel (Authorization: Bearer …)."))
    response["WWW-Authenticate"] = "Bearer"
    return response


#: The prefixes of ninja's error locations that name where a parameter came from, not the field.
_PARAM_SOURCES = frozenset({"body", "payload", "query", "path", "header", "cookie"})


@api.exception_handler(NinjaValidationError)
def _invalid(_request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    errors: dict[str, str] = {}
    for item in error.errors:
        location = [str(part) for part in item.get("loc", ()) if part not in _PARAM_SOURCES]
        errors[".".join(location) or "body"] = str(item.get("msg", "ungültig"))
    return problem(ValidationFailed(errors or {"body": "Die Eingaben sind nicht gültig."}))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if isinstance(error.__cause__, DomainError):  # raised by JsonBodyParser
        return problem(error.__cause__)
    if isinstance(error.__cause__, RequestDataTooBig):
        return _too_big(request, error.__cause__)
    body: dict[str, Any] = {
        "type": "https://rathauskasse.de/probleme/bad_request",
        "title": str(error),
        "status": error.status_code,
        "code": "bad_request",
    }
    return JsonResponse(body, status=error.status_code, content_type=CONTENT_TYPE)


@api.exception_handler(RequestDataTooBig)
def _too_big(_request: HttpRequest, _error: RequestDataTooBig) -> HttpResponse:
    return problem(
        PayloadTooLarge(f"Der Inhalt ist größer als {MAX_BODY_BYTES // 1024} KiB.", field="body")
    )


@api.exception_handler(Http404)
def _not_found(_request: HttpRequest, _error: Http404) -> HttpResponse:
    return problem(NotFound("Das gibt es nicht."))


@api.exception_handler(Exception)
def _bug(request: HttpRequest, error: Exception) -> HttpResponse:
    """A bug: logged with its traceback, answered as a problem without internals."""
    logger.error("Internal error in %s %s", request.method, request.path, exc_info=error)
    return problem(InternalError("Ein interner Fehler ist aufgetreten; wir kümmern uns darum."))


def key_of(request: HttpRequest) -> ApiKey:
    api_key: ApiKey = request.auth  # type: ignore[attr-defined]
    return api_key


def require(request: HttpRequest, scope: Scope) -> ApiKey:
    api_key = key_of(request)
    if scope not in api_key.scopes:
        raise Forbidden(f"Diesem Schlüssel fehlt das Recht „{scope}“.", scope=str(scope))
    return api_key


def department_ids(api_key: ApiKey) -> list[int] | None:
    """The departments a key is limited to, or None for the whole organisation.

    Read once per request: the key is loaded afresh for each request, so the list is never
    older than the request.
    """
    return api_key.limited_to_departments


def json_response(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder), status=status, content_type="application/json"
    )


def idempotent(
    request: HttpRequest, run: Callable[[], tuple[int, Any]], *, atomic: bool = False
) -> HttpResponse:
    """Answer a POST once per `Idempotency-Key`: the same key and body replay the first answer.

    A concurrent duplicate gets a 409 instead of doing the work twice, and the answer is stored,
    errors included; a crash frees the key. Two ways:

    - `atomic=False`: the key is reserved (committed) before the work starts and the answer
      stored after it, for work that calls a provider, which must not happen in a transaction
      that holds row locks;
    - `atomic=True`: the reservation, the work and the answer are one transaction (one commit
      instead of three), for work without a provider call whose writes are atomic by themselves
      (one service call), so that a refusal leaves nothing but its stored answer. On PostgreSQL
      a concurrent duplicate is told apart by a transaction-level advisory lock on the key,
      without waiting; SQLite runs one writer at a time, so the duplicate replays the answer.
    """
    key = request.headers.get("Idempotency-Key")
    if key is None:
        if atomic:
            with transaction.atomic():
                status, body = run()
        else:
            status, body = run()
        return json_response(status, body)
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed(
            {"Idempotency-Key": "Der Idempotency-Key muss 1 bis 255 sichtbare ASCII-Zeichen haben."}
        )
    api_key = key_of(request)
    digest = hashlib.sha256(
        (request.method or "").encode() + b" " + request.path.encode() + b"\n" + request.body
    ).hexdigest()
    if not atomic:
        reservation, replay = _reserve_or_replay(api_key=api_key, key=key, digest=digest)
        if replay is not None:
            return replay
        return _answer(request, run, reservation, free_on_crash=True)
    with transaction.atomic():
        reservation, replay = _reserve_or_replay(api_key=api_key, key=key, digest=digest)
        if replay is not None:
            return replay
        # A crash rolls the reservation back with the work.
        return _answer(request, run, reservation, free_on_crash=False)


def _reserve_or_replay(
    *, api_key: ApiKey, key: str, digest: str
) -> tuple[int, HttpResponse | None]:
    """(the id of a new reservation of `key`, None), or (0, the first answer's replay); or a 409."""
    now = clock.now()
    for _attempt in range(3):
        reservation = _reserve(api_key=api_key, key=key, digest=digest, now=now)
        if reservation is not None:
            return reservation, None
        first = IdempotentResponse.objects.filter(api_key=api_key, key=key).first()
        if first is None:  # the first request is running (atomic) or failed and freed the key
            if connection.in_atomic_block and connection.vendor == "postgresql":
                break
            continue
        if first.created_at < now - IDEMPOTENCY_WINDOW:
            # Answers are kept for 24 hours; an older one is deleted when its key comes again.
            IdempotentResponse.objects.filter(pk=first.pk, created_at=first.created_at).delete()
            continue
        if first.request_digest != digest:
            raise IdempotencyConflict(
                "Dieser Idempotency-Key wurde schon für eine andere Anfrage benutzt.",
                field="Idempotency-Key",
            )
        if first.status == 0:
            break
        replay = HttpResponse(
            bytes(first.body), status=first.status, content_type=_content_type(first.status)
        )
        replay["Idempotent-Replayed"] = "true"
        return 0, replay
    raise IdempotencyConflict(
        "Die erste Anfrage mit diesem Idempotency-Key läuft noch.", field="Idempotency-Key"
    )


def _answer(
    request: HttpRequest,
    run: Callable[[], tuple[int, Any]],
    reservation: int,
    *,
    free_on_crash: bool,
) -> HttpResponse:
    try:
        status, body = run()
        response = json_response(status, body)
    except DomainError as error:
        response = _domain_error(request, error)
    except Exception:
        if free_on_crash:
            IdempotentResponse.objects.filter(pk=reservation).delete()
        raise
    sql.update(
        IdempotentResponse,
        where={"id": reservation},
        values={"status": response.status_code, "body": response.content},
    )
    return response


#: The reservation on PostgreSQL inside the request's transaction: inserted only while this
#: transaction holds the key's advisory lock, which it gets without waiting or not at all, so a
#: concurrent duplicate (whose row is not committed yet) is never waited for: no row comes back,
#: and no committed row is found, which means the first request is still running.
_RESERVE_LOCKED = (
    "INSERT INTO {table} ({columns}) SELECT {values} "
    "WHERE pg_try_advisory_xact_lock(hashtextextended(%s, 0)) "
    "ON CONFLICT DO NOTHING RETURNING {pk}"
)


@functools.cache
def _reserve_locked_sql(columns: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    fields = {f.attname: f for f in IdempotentResponse._meta.concrete_fields}
    return _RESERVE_LOCKED.format(
        table=quote(IdempotentResponse._meta.db_table),
        columns=", ".join(quote(fields[c].column) for c in columns),
        values=", ".join(f"CAST(%s AS {fields[c].db_type(connection)})" for c in columns),
        pk=quote(IdempotentResponse._meta.pk.column),
    )


def _reserve(*, api_key: ApiKey, key: str, digest: str, now: dt.datetime) -> int | None:
    """The id of the new reservation of `key`, or None when the key is taken.

    Outside a transaction the INSERT commits by itself (one statement, no BEGIN and COMMIT of
    their own); inside one, a savepoint keeps the transaction usable after a duplicate (on
    PostgreSQL the advisory lock and ON CONFLICT make that one statement without a savepoint).
    The statement is built once (`core.sql`): the API writes these rows and nothing else does.
    """
    row = {
        "api_key_id": api_key.pk,
        "key": key,
        "request_digest": digest,
        "status": 0,
        "body": b"",
        "created_at": now,
    }
    try:
        if connection.in_atomic_block:
            if connection.vendor == "postgresql":
                fields = {f.attname: f for f in IdempotentResponse._meta.concrete_fields}
                params = [fields[c].get_db_prep_save(v, connection) for c, v in row.items()]
                with connection.cursor() as cursor:
                    cursor.execute(
                        _reserve_locked_sql(tuple(row)),
                        [*params, f"idempotency:{api_key.pk}:{key}"],
                    )
                    found = cursor.fetchone()
                return None if found is None else int(found[0])
            with transaction.atomic():
                return sql.insert(IdempotentResponse, row)
        return sql.insert(IdempotentResponse, row)
    except IntegrityError:
        return None


def _content_type(status: int) -> str:
    return "application/json" if status < 400 else CONTENT_TYPE


def actor_of(api_key: ApiKey) -> audit.Actor:
    return audit.Actor(label=f"api:{api_key.key_id}")
