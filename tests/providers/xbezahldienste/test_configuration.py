"""Connections: validated on saving with German messages; secrets write-only and audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.organisations.models import Organisation
from rathauskasse.providers.xbezahldienste.client import AuthMode
from rathauskasse.providers.xbezahldienste.models import Connection
from tests.providers.xbezahldienste import pki
from tests.providers.xbezahldienste.conftest import BASE_URL, make_connection

pytestmark = pytest.mark.django_db
PASSWORD = "Zertifikats-Passwort"


@pytest.fixture(scope="module")
def p12() -> bytes:
    ca = pki.issue("Test-CA", is_ca=True)
    return pki.issue("rathauskasse-musterstadt", ca=ca).pkcs12(PASSWORD, ca=ca)


def errors_of(org: Organisation, **fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        make_connection(org, **fields)
    return raised.value.message_dict


def test_in_production_the_addresses_must_be_https(org: Organisation, settings: Any) -> None:
    settings.XBEZAHLDIENSTE_ALLOW_HTTP = False
    errors = errors_of(
        org,
        base_url="http://bezahldienst.example/v1",
        auth_mode="oauth2",
        token_url="http://login.example/token",
        client_id="c",
        client_secret="s",
    )
    assert errors["base_url"] == ["Die Adresse muss mit https:// beginnen."]
    assert errors["token_url"] == ["Die Adresse muss mit https:// beginnen."]
    settings.XBEZAHLDIENSTE_ALLOW_HTTP = True  # the demo, and tests against a local server
    assert make_connection(org, base_url="http://127.0.0.1:8001/xbezahldienste").pk


@pytest.mark.parametrize("value", ["RK MUSTER", "Bürgeramt", "a" * 37, "a/b", ""])
def test_originator_and_endpoint_ids_follow_the_standards_pattern(
    org: Organisation, value: str
) -> None:
    errors = errors_of(org, originator_id=value, endpoint_id=value)
    assert set(errors) >= {"originator_id", "endpoint_id"}
    if value:
        assert "höchstens 36 Zeichen" in errors["originator_id"][0]


def test_each_authentication_needs_its_own_fields(org: Organisation) -> None:
    assert errors_of(org, auth_mode="basic", basic_password="") == {
        "basic_password": ["Für HTTP Basic fehlt das Passwort."]
    }
    assert set(errors_of(org, auth_mode="oauth2")) == {"token_url", "client_id", "client_secret"}
    assert "Für mTLS laden Sie ein Client-Zertifikat hoch" in str(errors_of(org, auth_mode="mtls"))


def test_a_client_certificate_must_open_with_its_password(org: Organisation, p12: bytes) -> None:
    errors = errors_of(
        org, auth_mode="mtls", client_certificate=p12, client_certificate_password="falsch"
    )
    assert "stimmt das Passwort?" in errors["client_certificate_password"][0]
    errors = errors_of(org, auth_mode="mtls", client_certificate=b"kein Zertifikat")
    assert "PKCS#12" in errors["client_certificate_password"][0]
    connection = make_connection(
        org, auth_mode="mtls", client_certificate=p12, client_certificate_password=PASSWORD
    )
    info = connection.certificate_info()
    assert info is not None and "rathauskasse-musterstadt" in info.subject


def test_an_expired_client_certificate_is_refused(org: Organisation) -> None:
    old = pki.issue("abgelaufen", not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), valid_days=365)
    errors = errors_of(
        org,
        auth_mode="mtls",
        client_certificate=old.pkcs12(PASSWORD),
        client_certificate_password=PASSWORD,
    )
    assert errors["client_certificate_path"] == [
        "Das Client-Zertifikat ist am 31.12.2020 abgelaufen."
    ]


def test_a_certificate_file_on_the_server_is_read_from_its_path(
    org: Organisation, p12: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "client.p12"
    path.write_bytes(p12)
    connection = make_connection(
        org,
        auth_mode="mtls",
        client_certificate_path=str(path),
        client_certificate_password=PASSWORD,
    )
    assert connection.config().certificate == p12
    errors = errors_of(
        org, auth_mode="mtls", client_certificate_path=str(tmp_path / "fehlt.p12"), enabled=False
    )
    assert errors["client_certificate_path"] == ["Die Datei lässt sich nicht lesen."]


def test_trusted_authorities_must_be_pem(org: Organisation) -> None:
    assert "PEM-Format" in errors_of(org, ca_certificates="kein PEM")["ca_certificates"][0]
    ca = pki.issue("Verwaltungs-PKI", is_ca=True)
    assert make_connection(org, ca_certificates=ca.cert_pem.decode()).pk


def test_methods_and_booking_keys_are_checked(org: Organisation) -> None:
    assert errors_of(org, methods=[])["methods"] == ["Wählen Sie mindestens eine Zahlart."]
    assert errors_of(org, methods=["wero"])["methods"] == ["Unbekannte Zahlart: wero"]
    assert "nur einmal" in errors_of(org, key_product="Haushaltsstelle")["key_budget_line"][0]


def test_an_organisation_has_at_most_one_active_connection(org: Organisation) -> None:
    make_connection(org)
    assert "schon eine aktive Verbindung" in errors_of(org, name="zweite")["enabled"][0]
    assert make_connection(org, name="Reserve", enabled=False).pk
    with pytest.raises(IntegrityError), transaction.atomic():  # the database says the same
        Connection.objects.create(
            organisation=org,
            name="dritte",
            base_url=BASE_URL,
            originator_id="A",
            endpoint_id="B",
            auth_mode="basic",
        )


def test_secrets_of_another_authentication_do_not_stay_behind(org: Organisation) -> None:
    connection = make_connection(org)
    connection.auth_mode = "oauth2"
    connection.token_url = "https://login.example/token"
    connection.client_id = "c"
    connection.client_secret = "s"
    connection.full_clean()
    connection.save()
    connection.refresh_from_db()
    assert (connection.basic_user, connection.basic_password) == ("", "")


def test_the_config_takes_default_timeouts_and_hides_its_secrets(
    org: Organisation, settings: Any
) -> None:
    settings.XBEZAHLDIENSTE_CONNECT_TIMEOUT = 4
    connection = make_connection(org, read_timeout=25)
    config = connection.config()
    assert (config.connect_timeout, config.read_timeout) == (4, 25)
    assert config.auth == AuthMode.BASIC
    assert "geheim-basic-0815" not in repr(config)


# --- the admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def form(org: Organisation, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "organisation": org.pk,
        "name": "epay21 Kreis",
        "enabled": "on",
        "base_url": BASE_URL,
        "originator_id": "RK-MUSTERSTADT",
        "endpoint_id": "GEBUEHREN",
        "auth_mode": "basic",
        "basic_user": "musterstadt",
        "basic_password": "Basic-Geheimnis-42",
        "methods": ["card", "paypal"],
        "key_budget_line": "HHST",
        "key_product": "Produkt",
        "key_account": "Sachkonto",
        "key_cost_centre": "Kostenstelle",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


ADD = reverse("admin:xbezahldienste_connection_add")


def change_url(connection: Connection) -> str:
    return reverse("admin:xbezahldienste_connection_change", args=[connection.pk])


def test_secrets_are_stored_never_shown_and_audited_as_changed_only(
    admin_client: Client, org: Organisation
) -> None:
    response = admin_client.post(ADD, form(org))
    assert response.status_code == 302, response.content.decode()
    connection = Connection.objects.get()
    assert connection.basic_password == "Basic-Geheimnis-42"  # the client must send it

    page = admin_client.get(change_url(connection)).content.decode()
    assert "Basic-Geheimnis-42" not in page
    assert "Passwort (HTTP Basic): hinterlegt" in page
    entry = AuditEntry.objects.get(action="connection.created_in_admin")
    assert entry.after["basic_password"] == "(geändert)"
    assert entry.after["key_budget_line"] == "HHST"
    assert "Basic-Geheimnis-42" not in str(entry.after)

    # Saving again without typing the password keeps it, and logs no change of it.
    response = admin_client.post(change_url(connection), form(org, basic_password="", name="neu"))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.basic_password) == ("neu", "Basic-Geheimnis-42")
    changed = AuditEntry.objects.get(action="connection.changed_in_admin")
    assert changed.after == {"name": "neu"}


def test_a_certificate_is_uploaded_and_only_its_public_details_shown(
    admin_client: Client, org: Organisation, p12: bytes
) -> None:
    data = form(
        org,
        auth_mode="mtls",
        basic_user=None,
        basic_password=None,
        client_certificate_password=PASSWORD,
        client_certificate_upload=SimpleUploadedFile("client.p12", p12),
    )
    response = admin_client.post(ADD, data)
    assert response.status_code == 302, response.content.decode()
    connection = Connection.objects.get()
    assert bytes(connection.client_certificate) == p12
    page = admin_client.get(change_url(connection)).content.decode()
    assert "CN=rathauskasse-musterstadt" in page
    assert PASSWORD not in page
    entry = AuditEntry.objects.get(action="connection.created_in_admin")
    assert entry.after["client_certificate_upload"] == "(geändert)"
    assert entry.after["client_certificate_password"] == "(geändert)"


def test_a_wrong_certificate_password_is_explained_on_the_form(
    admin_client: Client, org: Organisation, p12: bytes
) -> None:
    data = form(
        org,
        auth_mode="mtls",
        client_certificate_password="falsch",
        client_certificate_upload=SimpleUploadedFile("client.p12", p12),
    )
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert "stimmt das Passwort?" in response.content.decode()
    assert not Connection.objects.exists()


def test_connections_are_switched_off_not_deleted(admin_client: Client, org: Organisation) -> None:
    connection = make_connection(org)
    assert (
        admin_client.get(reverse("admin:xbezahldienste_connection_changelist")).status_code == 200
    )
    delete = reverse("admin:xbezahldienste_connection_delete", args=[connection.pk])
    assert admin_client.get(delete).status_code == 403
