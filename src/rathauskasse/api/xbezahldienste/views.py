"""The page the payer comes back to from the provider: sync, then on to the online service."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.views.decorators.http import require_GET

from rathauskasse.api.xbezahldienste import services


@require_GET
def returned(request: HttpRequest, transaction_id: str) -> HttpResponse:  # noqa: ARG001
    """Learn the outcome from the provider (its notification may be late), then redirect (303).

    The only place this sends anyone is the redirectUrl the online service gave for this
    transaction; nothing from the request decides where.
    """
    tx = services.find_for_return(transaction_id[:36])
    if tx is None:
        return HttpResponseNotFound(
            "Diese Zahlung ist nicht bekannt.", content_type="text/plain; charset=utf-8"
        )
    services.refresh(tx)
    response = HttpResponseRedirect(tx.redirect_url, status=303)
    response["Cache-Control"] = "no-store"
    return response
