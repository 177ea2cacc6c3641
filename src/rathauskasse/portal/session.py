"""What the portal keeps in the browser session: drafts, the notice basket, a guest's own items.

Nothing here is trusted for money: drafts are validated again on submission, basket entries are
only receivable ids that are looked up again (and scoped by organisation) each time.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest

DRAFTS = "portal_drafts"
BASKET = "portal_basket"
OWNED_APPLICATIONS = "portal_applications"
OWNED_PAYMENTS = "portal_payments"
MAX_DRAFTS = 10
MAX_BASKET = 20


def new_draft(request: HttpRequest, *, service_slug: str, data: dict[str, Any]) -> str:
    drafts: dict[str, Any] = request.session.get(DRAFTS, {})
    while len(drafts) >= MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    token = secrets.token_urlsafe(16)
    drafts[token] = {"service": service_slug, "data": data}
    request.session[DRAFTS] = drafts
    return token


def get_draft(request: HttpRequest, *, service_slug: str, token: str) -> dict[str, Any] | None:
    draft = request.session.get(DRAFTS, {}).get(token)
    if draft is None or draft.get("service") != service_slug:
        return None
    data: dict[str, Any] = draft["data"]
    return data


def basket(request: HttpRequest) -> list[int]:
    return list(request.session.get(BASKET, []))


def set_basket(request: HttpRequest, receivable_ids: list[int]) -> None:
    request.session[BASKET] = list(dict.fromkeys(receivable_ids))[:MAX_BASKET]


def add_to_basket(request: HttpRequest, receivable_id: int) -> bool:
    """Add a receivable; False when the basket is full."""
    items = basket(request)
    if receivable_id in items:
        return True
    if len(items) >= MAX_BASKET:
        return False
    set_basket(request, [*items, receivable_id])
    return True


def remember(request: HttpRequest, key: str, public_id: str) -> None:
    """Note that this browser created the application or payment (a guest's access to it)."""
    owned = list(request.session.get(key, []))
    if public_id not in owned:
        request.session[key] = [*owned[-49:], public_id]


def owns(request: HttpRequest, key: str, public_id: str) -> bool:
    return public_id in request.session.get(key, [])


def owned(request: HttpRequest, key: str) -> list[str]:
    return list(request.session.get(key, []))
