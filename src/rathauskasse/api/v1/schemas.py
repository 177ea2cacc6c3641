"""Request and response bodies of the REST API v1. Amounts are integer cents."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import ConfigDict

MAX_CENTS = 100_000_000_00  # 100 million euros: far above any fee, far below overflow
#: Ids are positive 64-bit integers (the database's bigint); larger ones cannot name anything.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
#: In a JSON body numbers must be JSON integers: no 96.0, no "9600", no true (never a float).
BodyId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
Cents = Annotated[int, Field(strict=True, gt=0, le=MAX_CENTS)]
Kassenzeichen = Annotated[str, Field(min_length=1, max_length=100)]
Limit = Annotated[int, Field(ge=1, le=200, description="At most this many per page.")]
ReceivableState = Literal["open", "paid", "cancelled"]
PaymentState = Literal[
    "created", "started", "pending", "succeeded", "failed", "cancelled", "expired"
]


class In(Schema):
    """A request body: unknown fields are refused, so that a typo does not go unnoticed."""

    model_config = ConfigDict(extra="forbid")


class LineIn(In):
    text: str = Field(min_length=1, max_length=200)
    amount_cents: Cents
    budget_line: str = Field(
        min_length=1, max_length=50, description="Code of the budget line (Haushaltsstelle)."
    )
    booking_data: dict[str, str] = Field(default_factory=dict)


class DebtorIn(In):
    name: str = Field(min_length=1, max_length=200)
    street: str = Field(default="", max_length=200)
    postcode: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=100)
    country: str = Field(default="DE", min_length=2, max_length=2)
    email: str = Field(default="", max_length=254)
    account: str = Field(default="", max_length=30, description="Personenkonto.")


class ReceivableIn(In):
    department: BodyId = Field(description="Id of the department the receivable belongs to.")
    purpose: str = Field(min_length=1, max_length=140)
    lines: list[LineIn] = Field(min_length=1, max_length=99)
    debtor: DebtorIn
    due_date: dt.date | None = None
    kassenzeichen: str | None = Field(
        default=None, max_length=35, description="Leave out to have one generated."
    )
    reference: str = Field(
        default="", max_length=100, description="Your own reference (Fachverfahren)."
    )


class CancelIn(In):
    reason: str = Field(min_length=1, max_length=200)


class LineOut(Schema):
    position: int
    text: str
    amount_cents: int
    budget_line: str
    booking_data: dict[str, str]


class ReceivableOut(Schema):
    id: int
    kassenzeichen: str
    kassenzeichen_display: str
    status: str
    purpose: str
    amount_cents: int
    open_cents: int
    due_date: dt.date
    department: int
    reference: str
    pay_url: str
    created_at: dt.datetime
    paid_at: dt.datetime | None
    lines: list[LineOut]


class ReceivablePage(Schema):
    data: list[ReceivableOut]
    next_cursor: str | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )


class AllocationIn(In):
    receivable: BodyId = Field(description="Id of the receivable.")
    amount_cents: Cents | None = Field(
        default=None, description="Leave out to pay the whole open amount."
    )


class PaymentIn(In):
    receivables: list[AllocationIn] = Field(min_length=1, max_length=99)
    method: str = Field(description="card, paypal, sepa_debit, wero, giropay")
    return_url: str = Field(
        min_length=8, max_length=500, pattern=r"^https?://", description="Where the payer returns."
    )
    description: str = Field(default="", max_length=140)
    payer_email: str = Field(default="", max_length=254, description="Receives the receipt.")


class AllocationOut(Schema):
    receivable: int
    kassenzeichen: str
    amount_cents: int


class PaymentOut(Schema):
    id: uuid.UUID
    status: str
    amount_cents: int
    method: str
    provider: str
    provider_reference: str
    description: str
    next_url: str | None = Field(
        description=(
            "Send the payer here while the status is `created` or `started`. A new payment is "
            "not yet at the provider: its `next_url` is the start link, which registers it there "
            "when the payer arrives; once `started`, the provider's page."
        )
    )
    failure_reason: str
    refund_status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    allocations: list[AllocationOut]


class PaymentPage(Schema):
    data: list[PaymentOut]
    next_cursor: str | None


class PaymentEventOut(Schema):
    kind: str
    from_status: str
    to_status: str
    source: str
    created_at: dt.datetime


class NoticeIn(In):
    channel: Literal["email", "print"] | None = Field(
        default=None,
        description="How the notice goes out. Left out: by e-mail when the debtor has an "
        "address, else as a letter marked for print.",
    )


class NoticeOut(Schema):
    id: int
    receivable: int
    kind: Literal["notice", "reminder"]
    sequence: int = Field(description="1 for the first notice of the receivable, then 2, 3, ...")
    amount_cents: int = Field(description="The open amount the notice shows.")
    fee_cents: int = Field(description="The reminder fee added with it (0 for a notice).")
    due_date: dt.date = Field(description="Pay by (the notice's date).")
    issued_at: dt.datetime
    channel: Literal["email", "print"]
    delivered_at: dt.datetime | None = Field(
        description="E-mail: when it was sent; letter: when it went into a print file."
    )
    checksum: str = Field(description="SHA-256 (hex) of the PDF; every download is this file.")
    pdf_url: str


class NoticeList(Schema):
    data: list[NoticeOut]


class Problem(Schema):
    """An RFC 9457 problem; branch on `code` (docs/api/errors.md), show `title` to people."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="A German sentence for people; may change.")
    status: int = Field(description="The HTTP status.")
    code: str = Field(description="Stable code from the error catalogue.")
    field: str | None = Field(
        default=None, description="The offending input (dotted path into the body, or a header)."
    )
    errors: dict[str, str] | None = Field(
        default=None, description="Every invalid field with its message (validation errors)."
    )
    retry_after: int | None = Field(
        default=None, description="Seconds until a retry may succeed (rate limits)."
    )
