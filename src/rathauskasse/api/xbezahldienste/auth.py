"""Who is calling: HTTP Basic, an OAuth2 bearer token, or a client certificate (mutual TLS).

Invariants kept here:
- secrets are stored as Django password hashes only; a bearer token is a signed, timed claim
  on one pair that stops working when the pair's client secret changes;
- a caller is let in for a pair when any of the pair's configured modes matches;
- an unauthenticated caller cannot tell an unknown pair from a known one: both answer 403
  FORBIDDEN. Only a caller whose credentials are valid for some pair learns that the pair it
  named does not exist (404 NO_VALID_ORIGINATOR_OR_ENDPOINT).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from rathauskasse.api.models import XBezahldiensteEndpoint

TOKEN_SALT = "rathauskasse.xbezahldienste.oauth"  # noqa: S105 - a salt, not a secret
#: A Basic password that was checked once is not hashed again for this long (seconds).
VERIFIED_SECONDS = 300
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_dummy_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Presented:
    """What the request carries; each part may be missing."""

    basic: tuple[str, str] | None = None
    bearer: str | None = None
    fingerprint: str | None = None

    @property
    def anything(self) -> bool:
        return bool(self.basic or self.bearer or self.fingerprint)


def presented(request: HttpRequest) -> Presented:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    basic = bearer = None
    if scheme.lower() == "basic":
        basic = parse_basic(value.strip())
    elif scheme.lower() == "bearer" and value.strip():
        bearer = value.strip()
    return Presented(basic=basic, bearer=bearer, fingerprint=client_fingerprint(request))


def parse_basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon and user else None


def client_fingerprint(request: HttpRequest) -> str | None:
    """SHA-256 of the client certificate the TLS proxy verified, if that mode is switched on.

    The header named by XBEZAHLDIENSTE_CLIENT_CERT_HEADER carries either the fingerprint (hex,
    colons allowed) or the certificate itself as URL-encoded PEM (nginx's
    `$ssl_client_escaped_cert`); the proxy must set it on every request, replacing whatever the
    client sent.
    """
    name = settings.XBEZAHLDIENSTE_CLIENT_CERT_HEADER
    if not name:
        return None
    raw = request.headers.get(name, "").strip()
    if not raw:
        return None
    compact = raw.replace(":", "").lower()
    if _FINGERPRINT.fullmatch(compact):
        return compact
    pem = unquote(raw)
    match = re.search(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", pem, re.S)
    if match is None:
        return None
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return hashlib.sha256(der).hexdigest()


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").strip().lower()


# --- checks ------------------------------------------------------------------------------------


def _password_matches(password: str, encoded: str, *, scope: str) -> bool:
    """A Django password check, remembered for a few minutes after it succeeded.

    Clients poll; a slow hash on every poll would cost a CPU-second each. The cache keeps only
    an HMAC (with SECRET_KEY) of the stored hash and the password, never the password.
    """
    if not encoded:
        return False
    key = "xbd-verified:" + salted_hmac(scope, f"{encoded}\x00{password}").hexdigest()
    if cache.get(key):
        return True
    if not check_password(password, encoded):
        return False
    cache.set(key, value=True, timeout=VERIFIED_SECONDS)
    return True


def waste_a_hash(password: str) -> None:
    """Spend the time of a real check, so that unknown user names answer as slowly as known."""
    global _dummy_hash  # noqa: PLW0603 - built once per process
    if _dummy_hash is None:
        _dummy_hash = make_password(secrets.token_urlsafe(16))
    check_password(password, _dummy_hash)


def basic_matches(endpoint: XBezahldiensteEndpoint, user: str, password: str) -> bool:
    if not endpoint.basic_username or not endpoint.basic_password_hash:
        return False
    same_user = constant_time_compare(user, endpoint.basic_username)
    matches = _password_matches(
        password, endpoint.basic_password_hash, scope=f"xbd-basic:{endpoint.pk}"
    )
    return same_user and matches


def secret_version(endpoint: XBezahldiensteEndpoint) -> str:
    """Changes whenever the client secret does, which invalidates every token issued before."""
    return salted_hmac("xbd-token-version", endpoint.oauth_secret_hash).hexdigest()[:16]


def _signer() -> signing.TimestampSigner:
    # "." instead of ":" as separator: a bearer token (RFC 6750 b64token) has no colons.
    return signing.TimestampSigner(salt=TOKEN_SALT, sep=".")


def issue_token(endpoint: XBezahldiensteEndpoint) -> str:
    return _signer().sign_object({"e": endpoint.pk, "v": secret_version(endpoint)})


def endpoint_of_token(token: str) -> XBezahldiensteEndpoint | None:
    """The pair a valid, unexpired token was issued for; None for anything else."""
    try:
        claim = _signer().unsign_object(token, max_age=settings.XBEZAHLDIENSTE_TOKEN_SECONDS)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(claim, dict) or not isinstance(claim.get("e"), int):
        return None
    endpoint = XBezahldiensteEndpoint.objects.filter(pk=claim["e"]).first()
    if endpoint is None or not endpoint.oauth_secret_hash:
        return None
    if not constant_time_compare(str(claim.get("v", "")), secret_version(endpoint)):
        return None
    return endpoint


def client_secret_matches(endpoint: XBezahldiensteEndpoint, secret: str) -> bool:
    return bool(endpoint.oauth_secret_hash) and check_password(secret, endpoint.oauth_secret_hash)


def accepts(endpoint: XBezahldiensteEndpoint, given: Presented) -> bool:
    """Whether any configured mode of the pair matches what the request presents."""
    if given.basic is not None and basic_matches(endpoint, *given.basic):
        return True
    if given.bearer is not None:
        holder = endpoint_of_token(given.bearer)
        if holder is not None and holder.pk == endpoint.pk:
            return True
    return bool(
        given.fingerprint
        and endpoint.client_cert_sha256
        and constant_time_compare(given.fingerprint, endpoint.client_cert_sha256)
    )


def is_known_caller(given: Presented) -> bool:
    """Whether the credentials are valid for some pair (then an unknown pair may be named)."""
    if given.basic is not None:
        user, password = given.basic
        candidates = list(XBezahldiensteEndpoint.objects.filter(basic_username=user)[:20])
        if not candidates:
            waste_a_hash(password)
        if any(basic_matches(endpoint, user, password) for endpoint in candidates):
            return True
    if given.bearer is not None and endpoint_of_token(given.bearer) is not None:
        return True
    return bool(
        given.fingerprint
        and XBezahldiensteEndpoint.objects.filter(client_cert_sha256=given.fingerprint).exists()
    )
