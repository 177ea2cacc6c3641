"""The provider contract: what the payments domain needs from anyone who moves money.

Providers get frozen dataclasses in and give frozen dataclasses back; they never see an ORM
object and never write to the platform's database. Transient faults (timeouts, 5xx answers)
are raised as `ProviderUnavailable`, so the caller can leave the payment in a state from which
a later status poll recovers it. A provider that refuses a request for good (invalid data, its
configuration, missing rights) raises `ProviderRefused`; repeating it unchanged will not help.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol, runtime_checkable


class ProviderState(StrEnum):
    """A payment's state as the provider reports it."""

    STARTED = "started"
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class BookingKey(StrEnum):
    """The keys of `StartItem.booking_data` that come from the budget line's own columns.

    Further keys are the budget line's and the receivable line's free booking data, as they are.
    A provider may rename these on the wire (each XBezahldienste connection configures its names).
    """

    BUDGET_LINE = "Haushaltsstelle"
    PRODUCT = "Produkt"
    ACCOUNT = "Sachkonto"
    COST_CENTRE = "Kostenstelle"


@dataclass(frozen=True, slots=True)
class Capabilities:
    methods: frozenset[str]
    refunds: bool = True
    partial_refunds: bool = True
    #: A test provider moves no real money; live API keys must not use it.
    test_only: bool = False
    #: The provider tells us of outcomes (webhooks). One that does not is polled on a schedule.
    notifies: bool = True


@dataclass(frozen=True, slots=True)
class StartItem:
    """One booked position of a payment: (a share of) one line of one receivable."""

    reference: str  # the receivable's Kassenzeichen
    description: str
    amount_cents: int
    #: Where the money is booked: `BookingKey`s plus free keys; read-only.
    booking_data: Mapping[str, str]

    def __post_init__(self) -> None:
        if type(self.amount_cents) is not int or self.amount_cents <= 0:
            raise ValueError("an item needs a positive amount in integer cents")
        object.__setattr__(self, "booking_data", MappingProxyType(dict(self.booking_data)))


@dataclass(frozen=True, slots=True)
class StartRequest:
    payment_reference: str  # our id of the payment; the provider echoes it back
    amount_cents: int
    description: str
    method: str
    return_url: str
    notify_url: str
    expires_at: dt.datetime
    #: The organisation that is paid; providers with a configuration per organisation use it.
    organisation_id: int
    #: What is paid, line by line; the items add up to `amount_cents` exactly.
    items: tuple[StartItem, ...]
    currency: str = "EUR"
    locale: str = "de"

    def __post_init__(self) -> None:
        if sum(item.amount_cents for item in self.items) != self.amount_cents:
            raise ValueError("the items must add up to the payment's amount")


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


@dataclass(frozen=True, slots=True)
class PayoutItem:
    """One payment in a provider's collective payout."""

    payment_reference: str  # our reference of the payment (`StartRequest.payment_reference`)
    provider_reference: str
    amount_cents: int  # what the payment contributes before fees (refunds taken off)
    fee_cents: int = 0


@dataclass(frozen=True, slots=True)
class PayoutReport:
    """A provider's payout report: what it transferred to the organisation's bank account.

    `amount_cents` (on the bank statement) is the items' sum minus `fee_cents`.
    """

    reference: str  # the payout reference the bank line's remittance text carries
    amount_cents: int
    fee_cents: int
    items: tuple[PayoutItem, ...]
    paid_out_on: dt.date | None = None


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a server error; try again later."""


class ProviderRefused(Exception):
    """The provider refused the request for good: repeating it unchanged will not help.

    `code` is the provider's reason (e.g. an XBezahldienste `functionalCode`) and `detail` its
    explanation, both for the log and the cash office; neither is meant for the payer.
    """

    def __init__(self, message: str, *, code: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail


class InvalidNotification(Exception):
    """A notification that is forged, malformed or replayed; it must change nothing."""


@runtime_checkable
class PaymentProvider(Protocol):
    identifier: str
    name: str
    capabilities: Capabilities

    def start(self, request: StartRequest) -> StartResult:
        """Register the payment at the provider; returns where to send the payer.

        Raises `ProviderUnavailable` (try again: the same request is the same payment there) or
        `ProviderRefused` (the provider will not take this payment).
        """
        ...

    def parse_notification(self, notification: Notification) -> StatusReport:
        """Verify and read a notification; raises `InvalidNotification`."""
        ...

    def poll(
        self,
        *,
        payment_reference: str,
        provider_reference: str = "",
        organisation_id: int | None = None,
    ) -> StatusReport | None:
        """The provider's current view of the payment; None if the provider never saw it.

        Without `provider_reference` (the start answer was lost) the provider looks the payment
        up by `payment_reference`, at the configuration of `organisation_id` where it has one.
        Raises only `ProviderUnavailable`: a refused status query decides nothing about the
        payment, so it is asked again later.
        """
        ...

    def cancel(self, *, provider_reference: str) -> StatusReport:
        """Stop an unfinished payment; returns the final state (which may be a late success).

        A provider that cannot stop payments reports the current state; `started` then means
        the payer may still pay there (the platform stops it and looks again later).
        """
        ...

    def refund(self, request: RefundRequest) -> RefundResult:
        """Pay back (part of) a succeeded payment."""
        ...


@runtime_checkable
class PayoutSource(Protocol):
    """A provider that pays out collectively and reports which payments a payout holds."""

    def payout(self, *, reference: str, organisation_id: int | None = None) -> PayoutReport | None:
        """The payout report of `reference`; None when the provider has no such payout.

        Raises only `ProviderUnavailable`.
        """
        ...
