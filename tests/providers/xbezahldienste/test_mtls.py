"""Mutual TLS from a PKCS#12 file, against a real TLS server on 127.0.0.1 that demands it."""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rathauskasse.payments.contract import ProviderRefused, ProviderUnavailable
from rathauskasse.providers.xbezahldienste import certificates, client
from tests.providers.xbezahldienste import pki
from tests.providers.xbezahldienste.conftest import HERE, TRANSACTION_ID

PASSWORD = "p12-Passwort-ß"
COLLECTION_PATH = "RK-MUSTERSTADT/GEBUEHREN"


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.issue("Test-CA Bezahldienst", is_ca=True)


@pytest.fixture(scope="module")
def client_certificate(ca: pki.Issued) -> pki.Issued:
    return pki.issue("rathauskasse-musterstadt", ca=ca)


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        subject = dict(part[0] for part in peer["subject"]) if peer else {}
        self.seen.append({"path": self.path, "client": subject.get("commonName")})
        body = (HERE / "responses" / "transaction_payed.json").read_bytes()
        content = client.dumps(client.loads(body)["body"])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def tls_server(ca: pki.Issued, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_certificate = pki.issue("127.0.0.1", ca=ca, server_ip="127.0.0.1")
    directory = tmp_path_factory.mktemp("server")
    (directory / "cert.pem").write_bytes(server_certificate.cert_pem + ca.cert_pem)
    (directory / "key.pem").write_bytes(server_certificate.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    context.load_verify_locations(cadata=ca.cert_pem.decode())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/xbezahldienste/v1"
    finally:
        server.shutdown()
        server.server_close()


def _config(url: str, ca: pki.Issued, **overrides: Any) -> client.ConnectionConfig:
    fields: dict[str, Any] = {
        "id": 41,
        "base_url": url,
        "originator_id": "RK-MUSTERSTADT",
        "endpoint_id": "GEBUEHREN",
        "auth": client.AuthMode.MTLS,
        "ca_certificates": ca.cert_pem.decode(),
        "connect_timeout": 5,
        "read_timeout": 5,
    }
    fields.update(overrides)
    return client.ConnectionConfig(**fields)


def test_the_client_shows_its_certificate_and_checks_the_servers(
    tls_server: str, ca: pki.Issued, client_certificate: pki.Issued
) -> None:
    _Handler.seen.clear()
    config = _config(
        tls_server,
        ca,
        certificate=client_certificate.pkcs12(PASSWORD, ca=ca),
        certificate_password=PASSWORD,
    )
    transaction = client.Client(config).get(TRANSACTION_ID)
    assert transaction is not None
    assert transaction.status == client.Status.PAYED
    assert _Handler.seen == [
        {
            "path": f"/xbezahldienste/v1/paymenttransaction/{COLLECTION_PATH}/{TRANSACTION_ID}",
            "client": "rathauskasse-musterstadt",
        }
    ]


def test_without_a_client_certificate_the_server_refuses_the_connection(
    tls_server: str, ca: pki.Issued
) -> None:
    config = _config(tls_server, ca, id=42, auth=client.AuthMode.BASIC, basic_user="u")
    with pytest.raises(ProviderUnavailable):
        client.Client(config).get(TRANSACTION_ID)


def test_a_server_the_trusted_authorities_do_not_know_is_refused(
    tls_server: str, ca: pki.Issued, client_certificate: pki.Issued
) -> None:
    config = _config(
        tls_server,
        ca,
        id=43,
        ca_certificates="",  # the public CAs: they do not know the test CA
        certificate=client_certificate.pkcs12(PASSWORD, ca=ca),
        certificate_password=PASSWORD,
    )
    with pytest.raises(ProviderUnavailable):
        client.Client(config).get(TRANSACTION_ID)


def test_a_wrong_password_is_a_refusal_and_the_admins_message_is_german(
    ca: pki.Issued, client_certificate: pki.Issued
) -> None:
    data = client_certificate.pkcs12(PASSWORD, ca=ca)
    config = _config("https://127.0.0.1:9/x", ca, id=44, certificate=data, certificate_password="x")
    with pytest.raises(ProviderRefused) as refused:
        client.Client(config).get(TRANSACTION_ID)
    assert refused.value.code == "CERTIFICATE_UNUSABLE"
    with pytest.raises(certificates.CertificateError, match="stimmt das Passwort"):
        certificates.describe(data, "falsch")
    info = certificates.describe(data, PASSWORD)
    assert "CN=rathauskasse-musterstadt" in info.subject
    assert "CN=Test-CA Bezahldienst" in info.issuer


def _files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def test_no_key_material_is_left_in_files(
    ca: pki.Issued,
    client_certificate: pki.Issued,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = client_certificate.pkcs12(PASSWORD, ca=ca)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    opened: list[str] = []
    real_open = os.open

    def spy(path: str, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        opened.append(f"{path} {mode:o}")
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    certificates.ssl_context(pkcs12_data=data, password=PASSWORD, ca_pem=ca.cert_pem.decode())
    assert opened == []  # an anonymous in-memory file: nothing on any disk
    assert _files_under(tmp_path) == []

    # Where memfd_create does not exist: a private file, deleted at once.
    monkeypatch.delattr(os, "memfd_create")
    context = certificates.ssl_context(pkcs12_data=data, password=PASSWORD)
    assert isinstance(context, ssl.SSLContext)
    (written,) = [entry for entry in opened if "client.pem" in entry]
    assert written.endswith(" 600")  # readable by this user only, in a 0700 directory
    assert _files_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
