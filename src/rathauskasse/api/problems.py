"""RFC 9457 problem details for every error the interfaces return."""

from __future__ import annotations

from django.http import JsonResponse

from rathauskasse.core.errors import DomainError, ValidationFailed

CONTENT_TYPE = "application/problem+json"


def problem(error: DomainError) -> JsonResponse:
    """The problem for `error`; a `retry_after` (seconds) also goes out as `Retry-After`."""
    body: dict[str, object] = {
        "type": f"https://rathauskasse.de/probleme/{error.code}",
        "title": error.message,
        "status": error.status,
        "code": error.code,
    }
    if error.field:
        body["field"] = error.field
    if isinstance(error, ValidationFailed):
        body["errors"] = error.errors
    retry_after = error.params.get("retry_after")
    if retry_after is not None:
        body["retry_after"] = int(retry_after)
    response = JsonResponse(body, status=error.status, content_type=CONTENT_TYPE)
    if retry_after is not None:
        response["Retry-After"] = str(int(retry_after))
    return response
