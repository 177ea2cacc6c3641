"""The provider contract: what the payments domain needs from anyone who moves money.

Providers get frozen dataclasses in and give frozen dataclasses back; they never see an ORM
object and never write to the platform's database. Transient faults (timeouts, 5xx answers)
are raised as `ProviderUnavailable`, so the caller can leave the payment in a state from which
a later status poll recovers it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ProviderState(StrEnum):
    """A payment's state as the provider reports it."""

    STARTED = "started"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Capabilities:
    methods: frozenset[str]
    refunds: bool = True
    partial_refunds: bool = True
    #: A test provider moves no real money; live API keys must not use it.
    test_only: bool = False


@dataclass(frozen=True, slots=True)
class StartRequest:
    payment_reference: str  # our id of the payment; the provider echoes it back
    amount_cents: int
    description: str
    method: str
    return_url: str
    notify_url: str
    expires_at: dt.datetime
    currency: str = "EUR"
    locale: str = "de"


@dataclass(frozen=True, slots=True)
class StartResult:
    provider_reference: str
    redirect_url: str


@dataclass(frozen=True, slots=True)
class StatusReport:
    provider_reference: str
    payment_reference: str
    state: ProviderState
    amount_cents: int
    #: Identifies this state change at the provider; the same event delivered twice has the same id.
    event_id: str
    method: str = ""
    failure_reason: str = ""


@dataclass(frozen=True, slots=True)
class Notification:
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class RefundRequest:
    provider_reference: str
    refund_reference: str
    amount_cents: int
    reason: str


@dataclass(frozen=True, slots=True)
class RefundResult:
    succeeded: bool
    provider_refund_reference: str = ""
    failure_reason: str = ""


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a server error; try again later."""


class InvalidNotification(Exception):
    """A notification that is forged, malformed or replayed; it must change nothing."""


@runtime_checkable
class PaymentProvider(Protocol):
    identifier: str
    name: str
    capabilities: Capabilities

    def start(self, request: StartRequest) -> StartResult:
        """Register the payment at the provider; returns where to send the payer."""
        ...

    def parse_notification(self, notification: Notification) -> StatusReport:
        """Verify and read a notification; raises `InvalidNotification`."""
        ...

    def poll(self, *, payment_reference: str, provider_reference: str = "") -> StatusReport | None:
        """The provider's current view of the payment; None if the provider never saw it."""
        ...

    def cancel(self, *, provider_reference: str) -> StatusReport:
        """Stop an unfinished payment; returns the final state (which may be a late success)."""
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Pay back (part of) a succeeded payment."""
        ...
