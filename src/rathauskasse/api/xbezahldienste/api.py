"""The XBezahldienste v1.0.0 endpoints (django-ninja), mounted at /xbezahldienste/v1/.

Order of the checks on every call: the caller's credentials for the pair in the path (403, or
404 for a caller known elsewhere), the pair's rate limit (429), then for a POST the body's size
(413) and content type (415), its JSON (400), its schema (400) and its content (400, 409),
and last the pair's availability and the provider (503). Every answer but a success is
problem+json with a functionalCode; views only translate, `services` decides.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Path
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security.base import AuthBase

from rathauskasse.api import text as text_checks
from rathauskasse.api.models import XBezahldiensteEndpoint
from rathauskasse.api.problems import CONTENT_TYPE
from rathauskasse.api.xbezahldienste import auth, errors, services, wire
from rathauskasse.api.xbezahldienste.schemas import (
    ID_PATTERN,
    Availability,
    OAuthError,
    PaymentExistsProblem,
    PaymentRequest,
    PaymentTransaction,
    Problem,
    Token,
)
from rathauskasse.core import ratelimit
from rathauskasse.core.errors import DomainError

logger = logging.getLogger(__name__)

#: Larger request bodies are refused (413) before they are read; 99 full items stay far below.
MAX_BODY_BYTES = 256 * 1024
_ID = re.compile(ID_PATTERN)


class JsonParser(Parser):
    """JSON numbers as Decimal, UTF-8 only, one object, no duplicate keys (see `wire`)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = wire.loads(request.body)
        if not isinstance(data, dict):
            raise wire.MalformedJson("Der Inhalt muss ein JSON-Objekt sein.")
        where = text_checks.unstorable(data)
        if where is not None:
            raise wire.MalformedJson(f"{where}: {text_checks.MESSAGE}")
        return data


def _valid_id(value: str) -> bool:
    return 0 < len(value) <= 36 and _ID.fullmatch(value) is not None


def _check_body(request: HttpRequest) -> None:
    length = request.headers.get("Content-Length") or "0"
    if not length.isdigit():
        raise errors.InvalidRequest("Die Länge des Inhalts (Content-Length) ist ungültig.")
    if int(length) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(
            f"Der Inhalt ist größer als {MAX_BODY_BYTES // 1024} KiB und wird nicht gelesen."
        )
    if not request.body:
        return
    media_type = (request.content_type or "").lower()
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if not (media_type == "application/json" or media_type.endswith("+json")) or charset not in (
        "utf-8",
        "utf8",
    ):
        raise errors.UnsupportedMediaType(
            "Der Inhalt muss application/json in UTF-8 sein "
            f"(gesendet: „{request.headers.get('Content-Type', '')[:100]}“)."
        )


class BasicAuth(AuthBase):
    """Authenticates the caller for the pair in the path, in every mode the pair allows.

    It stands for Basic in the OpenAPI document; bearer tokens and client certificates are
    checked here as well, so `BearerAuth` below is never asked.
    """

    openapi_type = "http"
    openapi_scheme = "basic"

    def __call__(self, request: HttpRequest) -> XBezahldiensteEndpoint:
        path = request.resolver_match.kwargs if request.resolver_match else {}
        originator_id = str(path.get("originatorId", ""))
        endpoint_id = str(path.get("endPointId", ""))
        given = auth.presented(request)
        endpoint = (
            services.find_endpoint(originator_id=originator_id, endpoint_id=endpoint_id)
            if _valid_id(originator_id) and _valid_id(endpoint_id)
            else None
        )
        if endpoint is None or not auth.accepts(endpoint, given):
            if endpoint is None and given.anything and auth.is_known_caller(given):
                raise errors.UnknownEndpoint(
                    f"Den Online-Dienst „{originator_id[:36]}“ mit dem Endpunkt "
                    f"„{endpoint_id[:36]}“ gibt es nicht."
                )
            raise errors.Forbidden(
                "Anmeldung fehlt oder ist für diesen Online-Dienst und Endpunkt nicht gültig "
                "(HTTP Basic, OAuth2-Bearer-Token oder Client-Zertifikat)."
            )
        verdict = ratelimit.hit(
            key=f"xbezahldienste:{endpoint.pk}", limit=settings.XBEZAHLDIENSTE_RATE_LIMIT
        )
        if not verdict.allowed:
            raise errors.RateLimited(
                "Zu viele Anfragen für diesen Endpunkt; bitte später noch einmal.",
                retry_after=verdict.retry_after,
            )
        if request.method == "POST":
            _check_body(request)
        return endpoint


class BearerAuth(AuthBase):
    """Documents the OAuth2 bearer token (from /oauth/token); `BasicAuth` checks it."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> None:
        return None


class XBezahldiensteApi(NinjaAPI):
    """Documents errors as application/problem+json, which is what they are sent as."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                if operation.get("operationId") == "issueToken":
                    continue
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        content[CONTENT_TYPE] = content.pop("application/json")
                if operation.get("operationId") == "createPaymentTransaction":
                    operation["requestBody"]["content"]["application/json"]["example"] = EXAMPLE
                    responses = operation["responses"]
                    responses[200 if 200 in responses else "200"]["links"] = {
                        "GetPaymentTransaction": {
                            "operationId": "getPaymentTransaction",
                            "parameters": {
                                "originatorId": "$request.path.originatorId",
                                "endPointId": "$request.path.endPointId",
                                "transactionId": "$response.body#/paymentInformation/transactionId",
                            },
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
    """ninja answers a method a path does not have with a bare 405; answer the standard's way."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        answer = errors.problem_response(
            status=405,
            functional_code="VALIDATION_ERROR",
            title="Methode nicht erlaubt",
            detail=f"{request.method} ist hier nicht erlaubt, nur {response['Allow']}.",
        )
        answer["Allow"] = response["Allow"]
        return answer

    return wrapped


#: A complete PaymentRequest (for the demo pair demo-portal/musterstadt).
EXAMPLE = {
    "requestId": "beispiel-1",
    "requestTimestamp": "2026-11-02T10:15:00+01:00",
    "currency": "EUR",
    "grosAmount": 12.5,
    "purpose": "Meldebescheinigung",
    "description": "Einfache Meldebescheinigung",
    "redirectUrl": "https://online-dienst.example/fertig",
    "items": [
        {
            "id": "1",
            "description": "Meldebescheinigung",
            "taxRate": 0,
            "quantity": 1,
            "singleNetAmount": 12.5,
            "singleTaxAmount": 0,
            "totalNetAmount": 12.5,
            "totalTaxAmount": 0,
            "bookingData": {"Haushaltsstelle": "122010.431100"},
        }
    ],
    "requestor": {"name": "Mustermann", "firstName": "Erika", "isOrganization": False},
}


api = XBezahldiensteApi(
    title="Rathauskasse – XBezahldienste",
    version="1.0.0",
    description=(
        "XBezahldienste v1.0.0 (FITKO): Rathauskasse als Bezahldienst für Online-Dienste. "
        "Anmeldung je originatorId/endPointId mit HTTP Basic, einem OAuth2-Token "
        "(Client Credentials, `POST /oauth/token`) oder einem Client-Zertifikat (mTLS am "
        "Proxy). Beträge sind Euro als JSON-Zahlen mit höchstens zwei Nachkommastellen. "
        "Fehler sind RFC 9457 problem+json mit `functionalCode`. Es gibt keinen Webhook: "
        "den Status fragt der Online-Dienst mit GET ab, auch mit der requestId anstelle "
        "der transactionId."
    ),
    auth=[BasicAuth(), BearerAuth()],
    parser=JsonParser(),
    urls_namespace="xbezahldienste-v1",
)

PathId = Annotated[str, Path(min_length=1, max_length=36, pattern=ID_PATTERN)]
_ERRORS: dict[int, Any] = {400: Problem, 403: Problem, 404: Problem, 429: Problem}


def _json(body: Any, status: int = 200) -> HttpResponse:
    response = HttpResponse(wire.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _endpoint(request: HttpRequest) -> XBezahldiensteEndpoint:
    endpoint: XBezahldiensteEndpoint = request.auth  # type: ignore[attr-defined]
    return endpoint


@api.post(
    "/paymenttransaction/{originatorId}/{endPointId}",
    response={
        200: PaymentTransaction,
        409: PaymentExistsProblem,
        413: Problem,
        415: Problem,
        503: Problem,
        **_ERRORS,
    },
    summary="Eine Zahlung anlegen (PaymentRequest → PaymentTransaction)",
    description=(
        "Legt die Forderung (eine Position je Item) und die Zahlung an und startet sie beim "
        "Zahlungsdienst. Antwort 200 mit `transactionRedirectUrl`, der Seite, auf die die "
        "zahlende Person geleitet wird. Dieselbe requestId ein zweites Mal: 409 "
        "PAYMENT_EXISTS mit `transactionId` der vorhandenen Transaktion."
    ),
    url_name="create_payment_transaction",
    operation_id="createPaymentTransaction",
)
def create_payment_transaction(
    request: HttpRequest,
    originatorId: PathId,
    endPointId: PathId,
    paymentRequest: PaymentRequest,
) -> HttpResponse:
    tx = services.place_payment(
        endpoint=_endpoint(request),
        request=paymentRequest,
        received=request.body.decode("utf-8"),
    )
    return _json(services.describe(tx))


@api.get(
    "/paymenttransaction/{originatorId}/{endPointId}/{transactionId}",
    response={200: PaymentTransaction, **_ERRORS},
    summary="Eine Zahlung mit ihrem aktuellen Status lesen",
    description=(
        "Fragt bei einer nicht abgeschlossenen Zahlung zuerst den Zahlungsdienst. Statt der "
        "transactionId darf die requestId stehen, mit der die Zahlung angelegt wurde "
        "(falls die Antwort auf den POST verloren ging). Unbekannt: 404 VALIDATION_ERROR."
    ),
    url_name="get_payment_transaction",
    operation_id="getPaymentTransaction",
)
def get_payment_transaction(
    request: HttpRequest, originatorId: PathId, endPointId: PathId, transactionId: PathId
) -> HttpResponse:
    tx = services.get_transaction(endpoint=_endpoint(request), key=transactionId)
    return _json(services.describe(tx))


@api.get(
    "/status/{originatorId}/{endPointId}",
    response={200: Availability, 503: Problem, **_ERRORS},
    summary="Ist diese Konfiguration einsatzbereit?",
    url_name="status",
    operation_id="getStatus",
)
def status(request: HttpRequest, originatorId: PathId, endPointId: PathId) -> HttpResponse:
    endpoint = _endpoint(request)
    reasons = services.unavailable_because(endpoint)
    if reasons:
        raise errors.Unavailable(" ".join(reasons))
    body = {
        "type": errors.TYPE_BASE + "ok",
        "title": "Bezahldienst verfügbar",
        "status": 200,
        "detail": f"Der Endpunkt {endpoint.originator_id}/{endpoint.endpoint_id} nimmt "
        "Zahlungen an.",
    }
    return _json(body)


_TOKEN_FORM = {
    "type": "object",
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "scope": {"type": "string"},
    },
    "required": ["grant_type"],
}


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    response = _json({"error": error, "error_description": description}, status=status)
    response["Pragma"] = "no-cache"
    if error == "invalid_client":
        response["WWW-Authenticate"] = 'Basic realm="xbezahldienste"'
    return response


@api.post(
    "/oauth/token",
    auth=None,
    response={200: Token, 400: OAuthError, 401: OAuthError, 429: OAuthError},
    summary="OAuth2-Token holen (Client Credentials, RFC 6749 4.4)",
    description=(
        "Formular `grant_type=client_credentials`; Client-ID und -Secret im Formular oder "
        "als HTTP Basic. Das Token gilt für einen Endpunkt, bis es abläuft oder das Secret "
        "geändert wird."
    ),
    url_name="oauth_token",
    operation_id="issueToken",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": _TOKEN_FORM}},
        },
    },
)
def issue_token(request: HttpRequest) -> HttpResponse:
    verdict = ratelimit.hit(
        key=f"xbezahldienste-token:{ratelimit.client_key(request.META.get('REMOTE_ADDR'))}",
        limit=settings.XBEZAHLDIENSTE_RATE_LIMIT,
    )
    if not verdict.allowed:
        response = _oauth_error(429, "temporarily_unavailable", "Zu viele Anfragen.")
        response["Retry-After"] = str(verdict.retry_after)
        return response
    length = request.headers.get("Content-Length") or "0"
    if not length.isdigit() or int(length) > 4096:
        return _oauth_error(400, "invalid_request", "Die Anfrage ist zu groß.")
    if request.content_type != "application/x-www-form-urlencoded":
        return _oauth_error(
            400, "invalid_request", "Erwartet wird application/x-www-form-urlencoded."
        )
    form = request.POST
    # Client credentials in the Authorization header win over any in the form (RFC 6749 2.3.1
    # recommends the header; a client must not send both, and then the form's are ignored).
    header = auth.presented(request).basic
    grant_type = form.get("grant_type")
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type fehlt.")
    if grant_type != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", "Unterstützt wird nur client_credentials."
        )
    if header is not None:
        client_id, secret = unquote_plus(header[0]), unquote_plus(header[1])
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    endpoint = (
        XBezahldiensteEndpoint.objects.filter(oauth_client_id=client_id).first()
        if client_id
        else None
    )
    if endpoint is None or not auth.client_secret_matches(endpoint, secret):
        if endpoint is None:
            auth.waste_a_hash(secret)
        return _oauth_error(401, "invalid_client", "Client-ID oder Client-Secret ist falsch.")
    response = _json(
        {
            "access_token": auth.issue_token(endpoint),
            "token_type": "Bearer",
            "expires_in": settings.XBEZAHLDIENSTE_TOKEN_SECONDS,
        }
    )
    response["Pragma"] = "no-cache"
    return response


# --- errors ------------------------------------------------------------------------------------

_MESSAGES = {
    "missing": "fehlt",
    "extra_forbidden": "ist kein Feld des Standards",
    "string_too_long": "ist zu lang (höchstens {max_length} Zeichen)",
    "string_too_short": "ist zu kurz (mindestens {min_length} Zeichen)",
    "string_pattern_mismatch": "enthält unzulässige Zeichen",
    "string_type": "muss Text sein",
    "int_type": "muss eine ganze Zahl sein",
    "int_parsing": "muss eine ganze Zahl sein",
    "bool_type": "muss true oder false sein",
    "greater_than_equal": "muss mindestens {ge} sein",
    "less_than_equal": "darf höchstens {le} sein",
    "literal_error": "muss einer dieser Werte sein: {expected}",
    "too_short": "braucht mindestens {min_length} Einträge",
    "too_long": "hat zu viele Einträge (höchstens {max_length})",
    "dict_type": "muss ein Objekt sein",
    "model_type": "muss ein Objekt sein",
    "model_attributes_type": "muss ein Objekt sein",
    "list_type": "muss eine Liste sein",
}


def _where(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "paymentRequest", "path")]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "Inhalt"


def _say(item: dict[str, Any]) -> str:
    kind = str(item.get("type", ""))
    context = item.get("ctx") or {}
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    template = _MESSAGES.get(kind)
    if template is None:
        return str(item.get("msg", "ist ungültig"))
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return template


@api.exception_handler(errors.XBezahldiensteError)
def _xbezahldienste_error(_request: HttpRequest, error: errors.XBezahldiensteError) -> HttpResponse:
    response = errors.render(error)
    response["Cache-Control"] = "no-store"
    return response


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    translated: errors.XBezahldiensteError = (
        errors.InvalidRequest(error.message)
        if error.status < 500
        else errors.Unavailable(error.message)
    )
    return _xbezahldienste_error(request, translated)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    said = [f"{_where(tuple(item.get('loc', ())))} {_say(item)}" for item in error.errors]
    detail = "; ".join(said[:5])
    if len(said) > 5:
        detail += f" (und {len(said) - 5} weitere Fehler)"
    return _xbezahldienste_error(request, errors.InvalidRequest(f"Ungültige Angaben: {detail}."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    cause = error.__cause__
    message = str(cause) if isinstance(cause, wire.MalformedJson) else "Ungültige Anfrage."
    return _xbezahldienste_error(request, errors.InvalidRequest(message))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, _error: AuthenticationError) -> HttpResponse:
    return _xbezahldienste_error(request, errors.Forbidden("Anmeldung fehlt."))


@api.exception_handler(Exception)
def _bug(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.error("xbezahldienste: unexpected error", exc_info=error)
    return _xbezahldienste_error(
        request, errors.XBezahldiensteError("Ein unerwarteter Fehler ist aufgetreten.")
    )
