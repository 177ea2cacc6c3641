"""The bodies of XBezahldienste v1.0.0, with the standard's exact field names and limits.

Amounts are JSON numbers read as `Decimal` (see `wire`); a string, a boolean or a fraction of a
cent is refused. Unknown fields are refused everywhere (`extra="forbid"`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StrictBool, WithJsonSchema

from rathauskasse.api.xbezahldienste import wire

#: Ids of the standard: path ids, requestId, item ids.
ID_PATTERN = r"^[\w\d-]+$"
PURPOSE_PATTERN = r"^[\w\d\s-]+$"
# The standard writes `[\w\d\s-,\.…]`; the hyphen is escaped here so that every regex engine
# (Python's refuses `\s-,` as a range) reads it as the standard means it: a literal hyphen.
DESCRIPTION_PATTERN = r"^[\w\d\s\-,\.\u00C0-\u017F]+$"
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)

FunctionalCode = Literal[
    "NO_VALID_ORIGINATOR_OR_ENDPOINT",
    "PAYMENT_EXISTS",
    "CALCULATION_ERROR",
    "BOOKING_DATA_MISSING",
    "VALIDATION_ERROR",
    "UNSPECIFIED",
    "FORBIDDEN",
]
TransactionStatus = Literal["INITIAL", "PAYED", "FAILED", "CANCELED"]
PaymentMethodName = Literal["GIROPAY", "PAYDIRECT", "CREDITCARD", "PAYPAL", "OTHER"]


def _a_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("muss eine Zahl sein")
    return value


def _whole_cents(value: Decimal) -> Decimal:
    try:
        wire.to_cents(value)
    except wire.NotCents as exc:
        raise ValueError(str(exc)) from None
    return value


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("muss ein Zeitpunkt nach RFC 3339 mit Zeitzone sein")
    try:
        return dt.datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError("ist kein gültiger Zeitpunkt") from None


#: Euros as a JSON number: 0 to 999999, at most two decimal places (whole cents).
Amount = Annotated[
    Decimal,
    BeforeValidator(_a_number),
    AfterValidator(_whole_cents),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": 999999,
            "description": "Euro, höchstens zwei Nachkommastellen.",
        }
    ),
]
TaxRate = Annotated[
    Decimal,
    BeforeValidator(_a_number),
    Field(ge=0, le=100),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100}),
]
Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(_rfc3339),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Id = Annotated[str, Field(min_length=1, max_length=36, pattern=ID_PATTERN)]
BookingKey = Annotated[str, Field(min_length=1, max_length=100)]
BookingValue = Annotated[str, Field(max_length=250)]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class Address(In):
    street: str | None = Field(default=None, max_length=100)
    houseNumber: str | None = Field(default=None, max_length=20)
    addressLine: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, max_length=5
    )
    postalCode: str | None = Field(default=None, max_length=10)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2"
    )


class Requestor(In):
    name: str | None = Field(default=None, max_length=100, description="Familienname")
    firstName: str | None = Field(default=None, max_length=100)
    gender: Literal["M", "F", "D"] | None = None
    isOrganization: StrictBool | None = None
    organizationName: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    address: Address | None = None


class PaymentItem(In):
    id: Id
    reference: str | None = Field(default=None, max_length=36)
    description: str | None = Field(default=None, max_length=250)
    taxRate: TaxRate | None = None
    quantity: int = Field(strict=True, ge=1, le=999999)
    singleNetAmount: Amount
    singleTaxAmount: Amount
    totalNetAmount: Amount
    totalTaxAmount: Amount
    bookingData: dict[BookingKey, BookingValue] | None = Field(default=None, max_length=50)


class PaymentRequest(In):
    requestId: Id = Field(description="Vom Online-Dienst vergeben; eindeutig je Endpunkt.")
    requestTimestamp: Timestamp | None = None
    currency: Literal["EUR"]
    grosAmount: Amount = Field(description="Gesamtbetrag; die Positionen müssen ihn ergeben.")
    purpose: str = Field(
        min_length=1, max_length=27, pattern=PURPOSE_PATTERN, description="Verwendungszweck"
    )
    description: str | None = Field(default=None, max_length=250, pattern=DESCRIPTION_PATTERN)
    redirectUrl: str = Field(
        min_length=8,
        max_length=2082,
        pattern=r"^https?://[^\s]+$",
        description="Hierhin kehrt die zahlende Person zurück; den Status fragt der "
        "Online-Dienst dann mit GET ab.",
    )
    items: list[PaymentItem] = Field(min_length=1, max_length=99)
    requestor: Requestor | None = None


class PaymentInformation(Schema):
    transactionId: str = Field(max_length=36, pattern=ID_PATTERN)
    transactionReference: str = Field(description="Das Kassenzeichen der Forderung.")
    transactionUrl: str = Field(description="Adresse dieser Transaktion (GET).")
    transactionRedirectUrl: str | None = Field(
        default=None, description="Nur im Status INITIAL: hierhin die zahlende Person leiten."
    )
    transactionTimestamp: Timestamp | None = Field(
        default=None, description="Nur im Status PAYED: wann bezahlt wurde."
    )
    paymentMethod: PaymentMethodName | None = Field(default=None, description="Nur bei PAYED.")
    paymentMethodDetail: str | None = None
    status: TransactionStatus
    statusDetail: str | None = None


class PaymentTransaction(Schema):
    paymentRequest: PaymentRequest = Field(description="Der PaymentRequest wie empfangen.")
    paymentInformation: PaymentInformation


class Problem(Schema):
    """RFC 9457 problem details with the standard's `functionalCode`."""

    type: str = Field(max_length=2082)
    title: str
    status: int
    detail: str
    functionalCode: FunctionalCode


class PaymentExistsProblem(Problem):
    transactionId: str = Field(
        description="Die Transaktion, die mit dieser requestId schon angelegt wurde."
    )


class Availability(Schema):
    """The status endpoint's answer when the configuration can take payments."""

    type: str = Field(max_length=2082)
    title: str
    status: int
    detail: str


class Token(Schema):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class OAuthError(Schema):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
        "temporarily_unavailable",
    ]
    error_description: str | None = None
