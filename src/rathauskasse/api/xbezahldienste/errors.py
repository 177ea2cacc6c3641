"""The errors of XBezahldienste, each with its HTTP status and the standard's functionalCode.

Every answer that is not a success is `application/problem+json` with `type`, `title`,
`status`, `detail` (a functional description, never internals) and `functionalCode`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse

from rathauskasse.api.problems import CONTENT_TYPE
from rathauskasse.api.xbezahldienste import wire
from rathauskasse.core.errors import DomainError

TYPE_BASE = "https://rathauskasse.de/probleme/xbezahldienste/"


class XBezahldiensteError(DomainError):
    functional_code: ClassVar[str] = "UNSPECIFIED"
    title: ClassVar[str] = "Unbekannter Fehler"
    status = 500
    code = "xbezahldienste_unspecified"

    def extensions(self) -> dict[str, Any]:
        return {}


class Forbidden(XBezahldiensteError):
    functional_code = "FORBIDDEN"
    title = "Nicht berechtigt"
    status = 403
    code = "xbezahldienste_forbidden"


class UnknownEndpoint(XBezahldiensteError):
    functional_code = "NO_VALID_ORIGINATOR_OR_ENDPOINT"
    title = "Unbekannter Online-Dienst oder Endpunkt"
    status = 404
    code = "xbezahldienste_unknown_endpoint"


class InvalidRequest(XBezahldiensteError):
    functional_code = "VALIDATION_ERROR"
    title = "Ungültige Anfrage"
    status = 400
    code = "xbezahldienste_validation_error"


class TransactionNotFound(InvalidRequest):
    title = "Unbekannte Transaktion"
    status = 404
    code = "xbezahldienste_transaction_not_found"


class PayloadTooLarge(InvalidRequest):
    title = "Anfrage zu groß"
    status = 413
    code = "xbezahldienste_payload_too_large"


class UnsupportedMediaType(InvalidRequest):
    title = "Falscher Inhaltstyp"
    status = 415
    code = "xbezahldienste_unsupported_media_type"


class CalculationError(XBezahldiensteError):
    functional_code = "CALCULATION_ERROR"
    title = "Beträge stimmen nicht"
    status = 400
    code = "xbezahldienste_calculation_error"


class BookingDataMissing(XBezahldiensteError):
    functional_code = "BOOKING_DATA_MISSING"
    title = "Buchungsdaten fehlen"
    status = 400
    code = "xbezahldienste_booking_data_missing"


class PaymentExists(XBezahldiensteError):
    functional_code = "PAYMENT_EXISTS"
    title = "Zahlung existiert bereits"
    status = 409
    code = "xbezahldienste_payment_exists"

    def __init__(self, message: str, *, transaction_id: str) -> None:
        super().__init__(message)
        self.transaction_id = transaction_id

    def extensions(self) -> dict[str, Any]:
        return {"transactionId": self.transaction_id}


class Unavailable(XBezahldiensteError):
    functional_code = "UNSPECIFIED"
    title = "Bezahldienst nicht verfügbar"
    status = 503
    code = "xbezahldienste_unavailable"


class RateLimited(XBezahldiensteError):
    functional_code = "UNSPECIFIED"
    title = "Zu viele Anfragen"
    status = 429
    code = "xbezahldienste_rate_limited"


def problem_body(
    *, status: int, functional_code: str, title: str, detail: str, **extensions: Any
) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + functional_code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "functionalCode": functional_code,
        **extensions,
    }


def problem_response(
    *, status: int, functional_code: str, title: str, detail: str, **extensions: Any
) -> HttpResponse:
    body = problem_body(
        status=status, functional_code=functional_code, title=title, detail=detail, **extensions
    )
    return HttpResponse(wire.dumps(body), status=status, content_type=CONTENT_TYPE)


def render(error: XBezahldiensteError) -> HttpResponse:
    response = problem_response(
        status=error.status,
        functional_code=error.functional_code,
        title=error.title,
        detail=error.message,
        **error.extensions(),
    )
    if isinstance(error, Forbidden):
        response["WWW-Authenticate"] = 'Basic realm="xbezahldienste", Bearer realm="xbezahldienste"'
    retry_after = error.params.get("retry_after")
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
