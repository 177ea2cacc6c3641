"""Who may call: Basic, OAuth2 client credentials, client certificates; and what strangers learn."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from tests import factories
from tests.api.xbezahldienste.conftest import BASE, Pair, basic, make_pair, payment_request

from rathauskasse.api.models import XBezahldiensteEndpoint
from rathauskasse.api.xbezahldienste import services
from rathauskasse.core.models import AuditEntry

pytestmark = pytest.mark.django_db

CERT_DER = b"0\x82\x01\x0a-a-stand-in-for-a-certificate-in-DER"
CERT_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    + base64.encodebytes(CERT_DER).decode()
    + "-----END CERTIFICATE-----\n"
)
CERT_SHA256 = hashlib.sha256(CERT_DER).hexdigest()


def _status(client: Client, path: str, **headers: Any) -> Any:
    return client.get(f"{BASE}/status/{path}", **headers)


def _token(client: Client, **form: str) -> Any:
    headers = {}
    if "auth" in form:
        headers["HTTP_AUTHORIZATION"] = form.pop("auth")
    return client.post(
        f"{BASE}/oauth/token",
        data="&".join(f"{k}={quote(v)}" for k, v in form.items()),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def _oauth_pair(pair: Pair) -> str:
    secret = services.save_endpoint(
        actor=factories.ACTOR, endpoint=pair.endpoint, new_client_secret=True
    )
    assert secret is not None
    return secret


def test_basic_with_the_right_password_only(pair: Pair, client: Client) -> None:
    assert _status(client, pair.path, HTTP_AUTHORIZATION=basic()).status_code == 200
    for wrong in (basic(password="falsch"), basic(user="andere"), "Basic !!!", "Digest x"):
        response = _status(client, pair.path, HTTP_AUTHORIZATION=wrong)
        assert response.status_code == 403
        assert response.json()["functionalCode"] == "FORBIDDEN"
        assert "Basic" in response["WWW-Authenticate"]
        assert "Bearer" in response["WWW-Authenticate"]
    assert _status(client, pair.path).status_code == 403


def test_strangers_cannot_tell_unknown_pairs_from_known_ones(pair: Pair, client: Client) -> None:
    unknown = _status(client, "dienst/gibt-es-nicht", HTTP_AUTHORIZATION=basic(password="x"))
    known = _status(client, pair.path, HTTP_AUTHORIZATION=basic(password="x"))
    assert unknown.status_code == known.status_code == 403
    assert unknown.json() == known.json()
    malformed = _status(client, "dienst/" + "x" * 37)
    assert malformed.status_code == 403


def test_a_known_caller_naming_an_unknown_pair_is_told_so(pair: Pair, client: Client) -> None:
    response = _status(client, "dienst/gibt-es-nicht", HTTP_AUTHORIZATION=basic())
    assert response.status_code == 404
    assert response.json()["functionalCode"] == "NO_VALID_ORIGINATOR_OR_ENDPOINT"
    with_bad_id = pair.client.post(
        f"{BASE}/paymenttransaction/dienst/a.b",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(),
    )
    assert with_bad_id.json()["functionalCode"] == "NO_VALID_ORIGINATOR_OR_ENDPOINT"


def test_credentials_of_one_pair_do_not_open_another(pair: Pair, client: Client) -> None:
    other, *_ = make_pair(pair.org, originator="dienst", endpoint="kita", password="kita-pw")
    assert _status(client, "dienst/kita", HTTP_AUTHORIZATION=basic()).status_code == 403
    got = _status(client, "dienst/kita", HTTP_AUTHORIZATION=basic(password="kita-pw"))
    assert got.status_code == 200
    assert other.basic_password_hash != pair.endpoint.basic_password_hash
    assert "kita-pw" not in other.basic_password_hash


def test_oauth_token_by_form_and_by_basic(pair: Pair, client: Client) -> None:
    secret = _oauth_pair(pair)
    client_id = pair.endpoint.oauth_client_id
    issued = _token(
        client, grant_type="client_credentials", client_id=client_id, client_secret=secret
    )
    assert issued.status_code == 200, issued.content
    body = issued.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert ":" not in body["access_token"]
    assert issued["Cache-Control"] == "no-store"
    by_basic = _token(
        client, grant_type="client_credentials", auth=basic(user=client_id, password=secret)
    )
    assert by_basic.status_code == 200
    bearer = f"Bearer {body['access_token']}"
    assert _status(client, pair.path, HTTP_AUTHORIZATION=bearer).status_code == 200
    response = pair.post(payment_request(), auth=bearer)
    assert response.status_code == 200, response.content


def test_oauth_errors_follow_rfc_6749(pair: Pair, client: Client) -> None:
    secret = _oauth_pair(pair)
    client_id = pair.endpoint.oauth_client_id
    wrong = _token(client, grant_type="client_credentials", client_id=client_id, client_secret="x")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert wrong["WWW-Authenticate"].startswith("Basic")
    nobody = _token(
        client, grant_type="client_credentials", client_id="xbd_nobody", client_secret=secret
    )
    assert nobody.json()["error"] == "invalid_client"
    grant = _token(client, grant_type="password", client_id=client_id, client_secret=secret)
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    assert _token(client, client_id=client_id).json()["error"] == "invalid_request"
    as_json = client.post(f"{BASE}/oauth/token", data={}, content_type="application/json")
    assert as_json.json()["error"] == "invalid_request"


def test_tokens_expire_and_die_with_their_secret(pair: Pair, client: Client, settings: Any) -> None:
    secret = _oauth_pair(pair)
    client_id = pair.endpoint.oauth_client_id
    token = _token(
        client, grant_type="client_credentials", client_id=client_id, client_secret=secret
    ).json()["access_token"]
    bearer = f"Bearer {token}"
    assert _status(client, pair.path, HTTP_AUTHORIZATION=bearer).status_code == 200
    settings.XBEZAHLDIENSTE_TOKEN_SECONDS = -1  # every token is older than that
    assert _status(client, pair.path, HTTP_AUTHORIZATION=bearer).status_code == 403
    settings.XBEZAHLDIENSTE_TOKEN_SECONDS = 3600
    assert _status(client, pair.path, HTTP_AUTHORIZATION=bearer).status_code == 200
    services.save_endpoint(actor=factories.ACTOR, endpoint=pair.endpoint, new_client_secret=True)
    assert _status(client, pair.path, HTTP_AUTHORIZATION=bearer).status_code == 403
    assert _status(client, pair.path, HTTP_AUTHORIZATION=bearer + "x").status_code == 403


def test_a_token_of_another_pair_is_forbidden_here(pair: Pair, client: Client) -> None:
    other, _, _, secret = make_pair(pair.org, originator="dienst", endpoint="kita", oauth=True)
    token = _token(
        client,
        grant_type="client_credentials",
        client_id=other.oauth_client_id,
        client_secret=secret or "",
    ).json()["access_token"]
    bearer = f"Bearer {token}"
    assert _status(client, "dienst/kita", HTTP_AUTHORIZATION=bearer).status_code == 200
    here = _status(client, pair.path, HTTP_AUTHORIZATION=bearer)
    assert (here.status_code, here.json()["functionalCode"]) == (403, "FORBIDDEN")


def test_client_certificate_from_the_proxy(pair: Pair, client: Client, settings: Any) -> None:
    pair.endpoint.client_cert_sha256 = ":".join(
        CERT_SHA256[i : i + 2].upper() for i in range(0, 64, 2)
    )
    services.save_endpoint(actor=factories.ACTOR, endpoint=pair.endpoint)
    assert XBezahldiensteEndpoint.objects.get().client_cert_sha256 == CERT_SHA256
    header = {"HTTP_X_SSL_CLIENT_CERT": quote(CERT_PEM)}
    # Off by default: the header means nothing, whoever sends it.
    assert _status(client, pair.path, **header).status_code == 403
    settings.XBEZAHLDIENSTE_CLIENT_CERT_HEADER = "X-SSL-Client-Cert"
    assert _status(client, pair.path, **header).status_code == 200
    assert _status(client, pair.path, HTTP_X_SSL_CLIENT_CERT=CERT_SHA256).status_code == 200
    other = hashlib.sha256(b"another certificate").hexdigest()
    assert _status(client, pair.path, HTTP_X_SSL_CLIENT_CERT=other).status_code == 403
    assert _status(client, pair.path, HTTP_X_SSL_CLIENT_CERT="garbage").status_code == 403


def test_each_pair_is_rate_limited(pair: Pair, client: Client, settings: Any) -> None:
    settings.XBEZAHLDIENSTE_RATE_LIMIT = 2
    assert _status(client, pair.path, HTTP_AUTHORIZATION=basic()).status_code == 200
    assert _status(client, pair.path, HTTP_AUTHORIZATION=basic()).status_code == 200
    limited = _status(client, pair.path, HTTP_AUTHORIZATION=basic())
    assert limited.status_code == 429
    assert limited.json()["functionalCode"] == "UNSPECIFIED"
    assert int(limited["Retry-After"]) > 0


def test_secrets_never_reach_the_audit_log(pair: Pair) -> None:
    secret = _oauth_pair(pair)
    services.save_endpoint(
        actor=factories.ACTOR, endpoint=pair.endpoint, basic_password="neues-passwort"
    )
    entries = AuditEntry.objects.filter(action__startswith="xbezahldienste.endpoint")
    text = " ".join(str(e.before) + str(e.after) for e in entries)
    assert entries.count() == 3
    assert secret not in text
    assert "neues-passwort" not in text
    assert "s3cret-portal" not in text
    changed = entries.order_by("id").last()
    assert changed is not None
    assert changed.after == {"basic_password": "(gesetzt)"}
