"""Where payment providers deliver their notifications (webhooks)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rathauskasse.api.problems import problem
from rathauskasse.core.errors import DomainError
from rathauskasse.payments import services

#: Larger bodies are refused before they are read; no provider notification comes near this.
MAX_BODY_BYTES = 64 * 1024


@csrf_exempt
@require_POST
def notify(request: HttpRequest, provider: str) -> JsonResponse:
    length = request.headers.get("Content-Length") or "0"
    if not length.isdigit() or int(length) > MAX_BODY_BYTES:
        return JsonResponse(
            {
                "title": "Die Benachrichtigung ist zu groß.",
                "status": 413,
                "code": "payload_too_large",
            },
            status=413,
            content_type="application/problem+json",
        )
    try:
        payment = services.handle_notification(
            provider=provider, headers=dict(request.headers), body=request.body
        )
    except DomainError as error:
        return problem(error)
    return JsonResponse({"payment": str(payment.public_id), "status": payment.status})
