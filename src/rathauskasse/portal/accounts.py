"""Citizen accounts (django-allauth): keeping what a guest did before logging in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from rathauskasse.applications import services as applications
from rathauskasse.payments import services as payments
from rathauskasse.portal import session


def claim_guest_items(*, request: HttpRequest, user: Any, **_: object) -> None:
    """After login or sign-up: the applications and payments of this session become the user's."""
    applications.claim_applications(
        user_id=user.pk, public_ids=session.owned(request, session.OWNED_APPLICATIONS)
    )
    payments.claim_payments(
        user_id=user.pk, public_ids=session.owned(request, session.OWNED_PAYMENTS)
    )
