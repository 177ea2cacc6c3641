"""A pair sees only its own transactions; the admin shows pairs and audits their changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from tests import factories
from tests.api.xbezahldienste.conftest import Pair, basic, make_pair, payment_request

from rathauskasse.api.models import XBezahldiensteEndpoint, XBezahldiensteTransaction
from rathauskasse.core.models import AuditEntry, User

pytestmark = pytest.mark.django_db


def test_a_pair_never_sees_another_organisations_or_pairs_transactions(
    pair: Pair, client: Client
) -> None:
    other_org = factories.organisation()
    make_pair(other_org, originator="fremd", endpoint="stadt", user="fremd", password="fremd-pw")
    factories.budget_line(other_org, code="611010.401300")
    factories.budget_line(other_org, code="122010.431100")
    theirs = client.post(
        "/xbezahldienste/v1/paymenttransaction/fremd/stadt",
        data=json.dumps(payment_request()),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("fremd", "fremd-pw"),
    )
    assert theirs.status_code == 200, theirs.content
    their_id = theirs.json()["paymentInformation"]["transactionId"]
    # Same requestId, other pair: no PAYMENT_EXISTS, its own transaction.
    ours = pair.post(payment_request())
    assert ours.status_code == 200
    assert ours.json()["paymentInformation"]["transactionId"] != their_id
    assert pair.get(their_id).status_code == 404
    assert pair.get("antrag-4711").json()["paymentInformation"]["transactionId"] != their_id
    # A second pair of the same organisation does not see the first pair's either.
    make_pair(pair.org, originator="dienst", endpoint="kita", password="kita-pw")
    mine = ours.json()["paymentInformation"]["transactionId"]
    kita = client.get(
        f"/xbezahldienste/v1/paymenttransaction/dienst/kita/{mine}",
        HTTP_AUTHORIZATION=basic(password="kita-pw"),
    )
    assert kita.status_code == 404
    assert XBezahldiensteTransaction.objects.count() == 2


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    user = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    return client


def _form(pair: Pair, **changes: Any) -> dict[str, Any]:
    endpoint = pair.endpoint
    data: dict[str, Any] = {
        "organisation": endpoint.organisation_id,
        "name": endpoint.name,
        "originator_id": endpoint.originator_id,
        "endpoint_id": endpoint.endpoint_id,
        "is_enabled": "on",
        "department": endpoint.department_id,
        "default_budget_line": endpoint.default_budget_line_id,
        "provider": "sandbox",
        "method": "card",
        "booking_data_mapping": '{"Haushaltsstelle": "budget_line"}',
        "required_booking_keys": '["Haushaltsstelle"]',
        "basic_username": endpoint.basic_username,
        "basic_password": "",
        "client_cert_sha256": "",
    }
    data.update(changes)
    return data


def test_admin_pages_render_and_changes_are_audited(pair: Pair, admin_client: Client) -> None:
    pair.post(payment_request())
    base = "/admin/api/xbezahldiensteendpoint/"
    assert admin_client.get(base).status_code == 200
    page = admin_client.get(f"{base}{pair.endpoint.pk}/change/")
    assert page.status_code == 200
    assert "Pflicht-Buchungsdaten" in page.content.decode()
    assert admin_client.get(f"{base}add/").status_code == 200
    assert admin_client.get("/admin/api/xbezahldienstetransaction/").status_code == 200
    tx = XBezahldiensteTransaction.objects.get()
    assert (
        admin_client.get(f"/admin/api/xbezahldienstetransaction/{tx.pk}/change/").status_code == 200
    )

    saved = admin_client.post(
        f"{base}{pair.endpoint.pk}/change/",
        _form(pair, basic_password="ganz-neu", new_client_secret="on", is_enabled=""),
        follow=True,
    )
    assert saved.status_code == 200
    shown = " ".join(str(m) for m in saved.context["messages"])
    assert "Client-Secret" in shown
    endpoint = XBezahldiensteEndpoint.objects.get()
    assert not endpoint.is_enabled
    assert endpoint.oauth_client_id.startswith("xbd_")
    entry = AuditEntry.objects.filter(action="xbezahldienste.endpoint.changed").get()
    assert entry.actor_label == "root"
    assert entry.after["is_enabled"] is False
    assert entry.after["basic_password"] == "(gesetzt)"
    assert "ganz-neu" not in str(entry.after) + str(entry.before)
    assert client_secret_not_in(shown, entry)


def client_secret_not_in(shown: str, entry: AuditEntry) -> bool:
    secret = shown.split("Client-Secret ")[1].split(" ", maxsplit=1)[0]
    return secret not in str(entry.after) + str(entry.before)


def test_admin_refuses_a_department_of_another_organisation(
    pair: Pair, admin_client: Client
) -> None:
    foreign = factories.department(factories.organisation(), name="Fremdamt")
    response = admin_client.post(
        f"/admin/api/xbezahldiensteendpoint/{pair.endpoint.pk}/change/",
        _form(pair, department=foreign.pk, booking_data_mapping='{"x": "unbekannt"}'),
    )
    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert "department" in errors
    assert "booking_data_mapping" in errors
    assert XBezahldiensteEndpoint.objects.get().department == pair.department
