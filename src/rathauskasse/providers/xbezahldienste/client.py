"""HTTP, JSON and authentication of an XBezahldienste v1.0.0 client.

It knows the two operations a client needs, `POST /paymenttransaction/{originatorId}/{endPointId}`
(`create`) and `GET .../{transactionId}` (`get`), and nothing of the platform: it works on a
`ConnectionConfig` and plain JSON, so that it can be pointed at any service, a test server
included. Faults are the contract's exceptions:

- `ProviderUnavailable`: try again later. Timeouts, broken connections, 5xx, 429, redirects, and
  answers that cannot be read. A POST whose answer was lost is first repeated with the same
  `requestId` (the service then knows the payment: `PAYMENT_EXISTS`).
- `ProviderRefused`: the service refused for good (a 4xx problem with its `functionalCode`).
  `PAYMENT_EXISTS` is no refusal: the existing transaction is fetched, by the problem's
  `transactionId` member where the service sends one, else by our `requestId`.

Amounts are read from JSON as `Decimal` and written as exact decimal numbers; no float is ever
involved. Nothing secret (passwords, tokens, keys) is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx
from django.core.cache import cache

from rathauskasse.payments.contract import ProviderRefused, ProviderUnavailable
from rathauskasse.providers.xbezahldienste import certificates

logger = logging.getLogger(__name__)

PAYMENT_EXISTS = "PAYMENT_EXISTS"
#: Functional codes that speak of our configuration, not of the transaction asked for.
CONFIGURATION_CODES = frozenset({"NO_VALID_ORIGINATOR_OR_ENDPOINT", "FORBIDDEN"})
#: Seconds to wait before repeating a POST whose answer was lost (times the attempt number).
RETRY_PAUSE_SECONDS = 0.5
#: A token is used until this long before it expires (at most a fifth of its lifetime).
TOKEN_MARGIN_SECONDS = 60
#: How long a token without `expires_in` is kept; a 401 renews it earlier.
TOKEN_DEFAULT_SECONDS = 300
MAX_TRANSACTION_ID = 90


class AuthMode(StrEnum):
    MTLS = "mtls"
    OAUTH2 = "oauth2"
    BASIC = "basic"


class Status(StrEnum):
    INITIAL = "INITIAL"
    PAYED = "PAYED"  # sic, the standard's spelling
    FAILED = "FAILED"
    CANCELED = "CANCELED"


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """Where and how to reach one service; secrets are left out of `repr`."""

    id: int
    base_url: str
    originator_id: str
    endpoint_id: str
    auth: AuthMode
    connect_timeout: float = 5
    read_timeout: float = 10
    basic_user: str = ""
    basic_password: str = field(default="", repr=False)
    token_url: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    token_scope: str = ""
    #: The PKCS#12 file (certificate and key) for mutual TLS.
    certificate: bytes = field(default=b"", repr=False)
    certificate_password: str = field(default="", repr=False)
    #: PEM certificates of the CAs to trust instead of the public ones (a PKI of its own).
    ca_certificates: str = ""
    #: Plain http is for tests and the demo only; never for credentials in production.
    allow_http: bool = False


@dataclass(frozen=True, slots=True)
class Transaction:
    """A payment transaction as the service reports it (`PaymentInformation` + the request)."""

    transaction_id: str
    status: Status
    gros_amount: Decimal
    request_id: str = ""
    redirect_url: str = ""
    reference: str = ""
    payment_method: str = ""
    payment_method_detail: str = ""
    status_detail: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """An error answer (RFC 9457 with `functionalCode`), as far as it could be read."""

    status: int
    functional_code: str = ""
    title: str = ""
    detail: str = ""
    #: Extension member of PAYMENT_EXISTS (our own server sends it).
    transaction_id: str = ""
    #: The body was a problem document: the service itself answered, not a proxy on the way.
    from_service: bool = False


class MalformedAnswer(ValueError):
    pass


class _Lost(Exception):
    """The request may or may not have arrived; no answer came back."""


# --- JSON ---------------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise MalformedAnswer(f"{name} is not a number")


def loads(content: bytes) -> Any:
    """JSON with every fractional number as an exact `Decimal`."""
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedAnswer(f"not JSON: {exc}") from None


def dumps(value: Any) -> bytes:
    """JSON with `Decimal`s written exactly as numbers (ASCII only); floats are refused."""
    return _encode(value).encode("ascii")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amounts must be finite")
        return format(value, "f")
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as XBezahldienste JSON")


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedAnswer(f"{key} is not a string")
    return value


def parse_transaction(body: Any) -> Transaction:
    """Read `{"paymentRequest": {...}, "paymentInformation": {...}}`; raises `MalformedAnswer`."""
    if not isinstance(body, dict):
        raise MalformedAnswer("the answer is not a JSON object")
    information, request = body.get("paymentInformation"), body.get("paymentRequest")
    if not isinstance(information, dict) or not isinstance(request, dict):
        raise MalformedAnswer("paymentInformation or paymentRequest is missing")
    transaction_id = _text(information, "transactionId")
    if not (0 < len(transaction_id) <= MAX_TRANSACTION_ID) or not all(
        "!" <= char <= "~" for char in transaction_id
    ):
        raise MalformedAnswer("transactionId is missing or not printable ASCII")
    try:
        status = Status(str(information.get("status")))
    except ValueError:
        raise MalformedAnswer(f"unknown status {information.get('status')!r}") from None
    amount = request.get("grosAmount")
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise MalformedAnswer("grosAmount is missing or not a number")
    return Transaction(
        transaction_id=transaction_id,
        status=status,
        gros_amount=Decimal(amount),
        request_id=_text(request, "requestId"),
        redirect_url=_text(information, "transactionRedirectUrl"),
        reference=_text(information, "transactionReference"),
        payment_method=_text(information, "paymentMethod"),
        payment_method_detail=_text(information, "paymentMethodDetail"),
        status_detail=_text(information, "statusDetail"),
    )


def parse_problem(response: httpx.Response) -> Problem:
    """Whatever can be read of an error answer; never raises."""
    try:
        body = loads(response.content)
    except MalformedAnswer:
        body = None
    if not isinstance(body, dict):
        return Problem(status=response.status_code)

    def text(key: str) -> str:
        value = body.get(key)
        return value if isinstance(value, str) else ""

    content_type = response.headers.get("content-type", "")
    return Problem(
        status=response.status_code,
        functional_code=text("functionalCode"),
        title=text("title"),
        detail=text("detail"),
        transaction_id=text("transactionId"),
        from_service="problem+json" in content_type or "functionalCode" in body,
    )


# --- TLS contexts -------------------------------------------------------------------------

_contexts: dict[tuple[int, str], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def tls_context(config: ConnectionConfig) -> ssl.SSLContext:
    """The connection's TLS context, built once per certificate (loading a key is slow)."""
    key = (
        config.id,
        certificates.fingerprint(config.certificate + b"\0" + config.ca_certificates.encode()),
    )
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            try:
                context = certificates.ssl_context(
                    pkcs12_data=config.certificate if config.auth == AuthMode.MTLS else b"",
                    password=config.certificate_password,
                    ca_pem=config.ca_certificates,
                )
            except (certificates.CertificateError, ssl.SSLError, ValueError) as exc:
                logger.error("xbezahldienste connection %s: TLS set-up failed: %s", config.id, exc)
                raise ProviderRefused(
                    "XBezahldienste: certificate unusable",
                    code="CERTIFICATE_UNUSABLE",
                    detail=str(exc)[:300],
                ) from None
            _contexts[key] = context
        return context


# --- the client ---------------------------------------------------------------------------


class Client:
    def __init__(
        self,
        config: ConnectionConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        attempts: int = 2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._transport = transport
        self._attempts = max(1, attempts)
        self._sleep = sleep

    # --- operations ---------------------------------------------------------------------

    def create(self, payment_request: Mapping[str, Any]) -> Transaction:
        """POST a PaymentRequest; the same `requestId` again yields the same transaction."""
        request_id = str(payment_request["requestId"])
        content = dumps(payment_request)
        failures: list[str] = []
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(RETRY_PAUSE_SECONDS * attempt)
            try:
                response = self._exchange("POST", self._url(), content=content)
            except _Lost as exc:
                failures.append(str(exc))
                self._log_fault("POST", request_id, str(exc))
                continue
            if response.status_code >= 500:
                failures.append(f"HTTP {response.status_code}")
                self._log_problem("POST", request_id, parse_problem(response))
                continue
            return self._created(response, request_id)
        raise ProviderUnavailable(
            f"XBezahldienste POST {request_id}: no answer after {self._attempts} attempts "
            f"({', '.join(failures)})"
        )

    def get(self, transaction_id: str) -> Transaction | None:
        """The transaction's current state; None if the service does not know it."""
        try:
            response = self._exchange("GET", self._url(transaction_id))
        except _Lost as exc:
            self._log_fault("GET", transaction_id, str(exc))
            raise ProviderUnavailable(f"XBezahldienste GET {transaction_id}: {exc}") from None
        status = response.status_code
        if status in (200, 201):
            return self._transaction(response, "GET", transaction_id)
        problem = parse_problem(response)
        self._log_problem("GET", transaction_id, problem)
        if (
            status == 404
            and problem.from_service
            and problem.functional_code not in CONFIGURATION_CODES
        ):
            return None
        if _transient(status) or (status == 404 and not problem.from_service):
            # (a 404 page of a proxy on the way says nothing about the transaction)
            raise ProviderUnavailable(f"XBezahldienste GET {transaction_id}: HTTP {status}")
        raise _refused("GET", problem)

    # --- answers ------------------------------------------------------------------------

    def _created(self, response: httpx.Response, request_id: str) -> Transaction:
        status = response.status_code
        if status in (200, 201):
            return self._transaction(response, "POST", request_id)
        if _transient(status):
            raise ProviderUnavailable(f"XBezahldienste POST {request_id}: HTTP {status}")
        problem = parse_problem(response)
        self._log_problem("POST", request_id, problem)
        if problem.functional_code == PAYMENT_EXISTS:
            return self._existing(problem, request_id)
        raise _refused("POST", problem)

    def _existing(self, problem: Problem, request_id: str) -> Transaction:
        """The service knows the payment already (an answer of ours got lost): fetch it."""
        for candidate in dict.fromkeys(c for c in (problem.transaction_id, request_id) if c):
            try:
                found = self.get(candidate)
            except (ProviderUnavailable, ProviderRefused):
                found = None
            if found is not None:
                return found
        raise ProviderUnavailable(
            f"XBezahldienste POST {request_id}: PAYMENT_EXISTS, but the transaction was not found"
        )

    def _transaction(self, response: httpx.Response, operation: str, ref: str) -> Transaction:
        try:
            return parse_transaction(loads(response.content))
        except MalformedAnswer as exc:
            logger.error(
                "xbezahldienste connection %s: %s %s: unreadable answer: %s",
                self.config.id,
                operation,
                ref,
                exc,
            )
            raise ProviderUnavailable(f"XBezahldienste {operation} {ref}: {exc}") from None

    # --- HTTP ---------------------------------------------------------------------------

    def _url(self, transaction_id: str = "") -> str:
        parts = [
            self.config.base_url.rstrip("/"),
            "paymenttransaction",
            quote(self.config.originator_id, safe=""),
            quote(self.config.endpoint_id, safe=""),
        ]
        if transaction_id:
            parts.append(quote(transaction_id, safe=""))
        return "/".join(parts)

    def _http(self) -> httpx.Client:
        timeout = httpx.Timeout(
            connect=self.config.connect_timeout,
            read=self.config.read_timeout,
            write=self.config.read_timeout,
            pool=self.config.connect_timeout,
        )
        transport = self._transport or httpx.HTTPTransport(
            verify=tls_context(self.config), retries=0
        )
        return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)

    def _check_scheme(self, url: str) -> None:
        if not url.lower().startswith("https://") and not self.config.allow_http:
            raise ProviderRefused(
                "XBezahldienste: refusing to send credentials over plain HTTP",
                code="INSECURE_URL",
                detail=url,
            )

    def _exchange(self, method: str, url: str, *, content: bytes | None = None) -> httpx.Response:
        """One request with the connection's authentication; a rejected token is renewed once."""
        self._check_scheme(url)
        headers = {"Accept": "application/json, application/problem+json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        auth: httpx.Auth | None = None
        if self.config.auth == AuthMode.BASIC:
            auth = httpx.BasicAuth(self.config.basic_user, self.config.basic_password)
        for renewed in (False, True):
            if self.config.auth == AuthMode.OAUTH2:
                headers["Authorization"] = f"Bearer {self._token(renew=renewed)}"
            try:
                with self._http() as http:
                    response = http.request(
                        method, url, content=content, headers=headers, auth=auth
                    )
            except httpx.TransportError as exc:  # timeouts included
                raise _Lost(type(exc).__name__) from exc
            oauth2 = self.config.auth == AuthMode.OAUTH2
            if oauth2 and response.status_code in (401, 403) and not renewed:
                logger.info("xbezahldienste connection %s: token refused, renewing", self.config.id)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    # --- OAuth2 client credentials ------------------------------------------------------

    def _token_key(self) -> str:
        identity = "\0".join(
            (self.config.token_url, self.config.client_id, self.config.client_secret)
        )
        digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
        return f"xbezahldienste:token:{self.config.id}:{digest}"

    def _token(self, *, renew: bool) -> str:
        key = self._token_key()
        if not renew:
            cached = cache.get(key)
            if isinstance(cached, str) and cached:
                return cached
        token, lifetime = self._fetch_token()
        cache.set(key, token, timeout=lifetime)
        return token

    def _fetch_token(self) -> tuple[str, int]:
        self._check_scheme(self.config.token_url)
        form = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        if self.config.token_scope:
            form["scope"] = self.config.token_scope
        try:
            with self._http() as http:
                response = http.post(
                    self.config.token_url, data=form, headers={"Accept": "application/json"}
                )
        except httpx.TransportError as exc:
            self._log_fault("token", self.config.token_url, type(exc).__name__)
            raise ProviderUnavailable(f"XBezahldienste token: {type(exc).__name__}") from None
        if _transient(response.status_code):
            raise ProviderUnavailable(f"XBezahldienste token: HTTP {response.status_code}")
        try:
            body = loads(response.content)
        except MalformedAnswer:
            body = None
        if response.status_code != 200:
            error = body.get("error", "") if isinstance(body, dict) else ""
            logger.warning(
                "xbezahldienste connection %s: token refused: HTTP %s %s",
                self.config.id,
                response.status_code,
                error if isinstance(error, str) else "",
            )
            raise ProviderRefused(
                "XBezahldienste: the token endpoint refused our credentials",
                code="AUTHENTICATION_FAILED",
                detail=f"HTTP {response.status_code} {error}".strip(),
            )
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderUnavailable("XBezahldienste token: answer without access_token")
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        try:
            seconds = int(expires_in)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return token, TOKEN_DEFAULT_SECONDS
        margin = min(TOKEN_MARGIN_SECONDS, seconds // 5)
        return token, max(1, seconds - margin)

    # --- logging ------------------------------------------------------------------------

    def _log_fault(self, operation: str, ref: str, what: str) -> None:
        logger.warning(
            "xbezahldienste connection %s: %s %s: %s", self.config.id, operation, ref, what
        )

    def _log_problem(self, operation: str, ref: str, problem: Problem) -> None:
        logger.warning(
            "xbezahldienste connection %s: %s %s: HTTP %s %s %s",
            self.config.id,
            operation,
            ref,
            problem.status,
            problem.functional_code or "-",
            (problem.detail or problem.title)[:300],
        )


def _transient(status: int) -> bool:
    """Answers that say nothing about the request itself: try again later."""
    return status >= 500 or status == 429 or status < 200 or 300 <= status < 400


def _refused(operation: str, problem: Problem) -> ProviderRefused:
    code = problem.functional_code or f"HTTP_{problem.status}"
    return ProviderRefused(
        f"XBezahldienste {operation} refused: HTTP {problem.status} {code}",
        code=code,
        detail=(problem.detail or problem.title)[:500],
    )
