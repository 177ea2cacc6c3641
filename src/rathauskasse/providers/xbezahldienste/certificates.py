"""Client certificates (PKCS#12) for mutual TLS, and the TLS context built from them.

The `ssl` module loads a certificate and key only from a file. The key is therefore written,
encrypted with a random one-time passphrase, into an anonymous in-memory file (`memfd_create`,
Linux) that no other process can open and that vanishes when it is closed. Where that does not
exist, a file readable only by this process's user in a private temporary directory is used
and deleted straight after loading. Either way no key material stays behind on disk, and what
is written is never a plain key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    pkcs12,
)


class CertificateError(Exception):
    """The certificate cannot be used; the message is German, for the administrator."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_after: dt.datetime
    #: SHA-256 of the certificate (public information, safe to show).
    fingerprint: str


@dataclass(frozen=True, slots=True)
class _Loaded:
    key_pem: bytes  # encrypted with `passphrase`
    chain_pem: bytes
    passphrase: bytes
    certificate: x509.Certificate


def _load(data: bytes, password: str) -> _Loaded:
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError:
        raise CertificateError(
            "Das Client-Zertifikat lässt sich nicht öffnen: Ist es eine PKCS#12-Datei "
            "(.p12/.pfx) und stimmt das Passwort?"
        ) from None
    if key is None or certificate is None:
        raise CertificateError(
            "Die PKCS#12-Datei muss den privaten Schlüssel und das Zertifikat enthalten."
        )
    passphrase = secrets.token_hex(32).encode()
    key_pem = key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(passphrase)
    )
    chain_pem = b"".join(c.public_bytes(Encoding.PEM) for c in [certificate, *extra])
    return _Loaded(key_pem, chain_pem, passphrase, certificate)


def describe(data: bytes, password: str) -> CertificateInfo:
    """What the certificate says about itself; raises `CertificateError` if it cannot be used."""
    certificate = _load(data, password).certificate
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_after=certificate.not_valid_after_utc,
        fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":"),
    )


def check_ca_certificates(pem: str) -> None:
    """Refuse text that holds no usable CA certificate (German message)."""
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError):
        raise CertificateError(
            "Die Zertifizierungsstellen lassen sich nicht lesen; erwartet werden Zertifikate "
            "im PEM-Format (-----BEGIN CERTIFICATE-----)."
        ) from None


@contextlib.contextmanager
def _private_file(content: bytes) -> Iterator[str]:
    """A path to `content` that only this process can read, gone after the block."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        fd = memfd_create("rathauskasse-client-certificate", os.MFD_CLOEXEC)
        try:
            os.write(fd, content)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="rathauskasse-") as directory:  # mode 0700
        path = os.path.join(directory, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content)
        finally:
            os.close(fd)
        try:
            yield path
        finally:
            os.unlink(path)


def ssl_context(
    *, pkcs12_data: bytes = b"", password: str = "", ca_pem: str = ""
) -> ssl.SSLContext:
    """A TLS context that checks the server (against `ca_pem` if given, else the public CAs)
    and, given a PKCS#12 file, shows our client certificate."""
    context = (
        ssl.create_default_context(cadata=ca_pem)
        if ca_pem.strip()
        else httpx.create_ssl_context()  # the public CAs httpx trusts (certifi)
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if pkcs12_data:
        loaded = _load(pkcs12_data, password)
        with _private_file(loaded.chain_pem + loaded.key_pem) as path:
            context.load_cert_chain(certfile=path, password=loaded.passphrase)
    return context


def fingerprint(data: bytes) -> str:
    """Identifies a certificate file (for caching contexts), without revealing anything."""
    return hashlib.sha256(data).hexdigest()
