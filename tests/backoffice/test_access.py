"""Signing in to the back office, and who sees its pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client

from rathauskasse.core import clock
from rathauskasse.core.models import User
from rathauskasse.organisations.models import Department, Organisation, Role
from tests import factories
from tests.backoffice.conftest import member


def test_the_overview_sends_a_visitor_to_the_sign_in_page(client: Client) -> None:
    response = client.get("/verwaltung/")
    assert response.status_code == 302
    assert response["Location"] == "/verwaltung/anmelden/?next=/verwaltung/"


def test_staff_sign_in_and_land_where_they_wanted(client: Client, cashier: User) -> None:
    page = client.get("/verwaltung/anmelden/?next=/verwaltung/")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.content.decode()
    response = client.post(
        "/verwaltung/anmelden/",
        {"username": "kasse", "password": "geheim-2026", "next": "/verwaltung/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/verwaltung/"
    assert "Angemeldet als Karl Kasse (Stadtkasse)" in client.get("/verwaltung/").content.decode()


def test_a_wrong_password_is_refused_in_german_with_an_error_summary(
    client: Client, cashier: User
) -> None:
    response = client.post("/verwaltung/anmelden/", {"username": "kasse", "password": "falsch"})
    body = response.content.decode()
    assert response.status_code == 422
    assert "Anmeldung fehlgeschlagen" in body
    assert "Benutzername" in body and "Passwort" in body
    assert "<title>Fehler:" in body
    assert "_auth_user_id" not in client.session


def test_a_next_address_elsewhere_is_ignored(client: Client, cashier: User) -> None:
    response = client.post(
        "/verwaltung/anmelden/",
        {"username": "kasse", "password": "geheim-2026", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/verwaltung/"


def test_guessing_passwords_is_stopped_after_ten_tries(client: Client, cashier: User) -> None:
    for _ in range(10):
        assert (
            client.post(
                "/verwaltung/anmelden/", {"username": "kasse", "password": "falsch"}
            ).status_code
            == 422
        )
    response = client.post(
        "/verwaltung/anmelden/", {"username": "kasse", "password": "geheim-2026"}
    )
    assert response.status_code == 429
    assert "Zu viele Anmeldeversuche" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_account_without_a_role_here_gets_a_readable_403(
    client: Client, org: Organisation
) -> None:
    citizen = User.objects.create_user("buerger@example.org", password="x")
    client.force_login(citizen)
    response = client.get("/verwaltung/")
    assert response.status_code == 403
    assert "Kein Zugriff auf diese Seite" in response.content.decode()


def test_a_member_of_another_organisation_is_refused(client: Client, org: Organisation) -> None:
    other = factories.organisation()
    client.force_login(member(other, "fremd", Role.CASH_OFFICE))
    assert client.get("/verwaltung/").status_code == 403


def test_the_overview_shows_what_is_open_and_overdue(
    cash_client: Client, org: Organisation, department: Department
) -> None:
    line = factories.budget_line(org)
    factories.receivable(org, department, line, 4500)
    factories.receivable(org, department, line, 1000, due_date=clock.today() - dt.timedelta(days=3))
    body = cash_client.get("/verwaltung/").content.decode()
    assert "<dt>offen</dt><dd>2</dd>" in body
    assert "<dt>davon überfällig</dt><dd>1</dd>" in body
    assert "55,00" in body


def test_signing_out_needs_a_post_and_ends_the_session(cash_client: Client) -> None:
    assert cash_client.get("/verwaltung/abmelden/").status_code == 405
    response = cash_client.post("/verwaltung/abmelden/")
    assert response["Location"] == "/verwaltung/anmelden/"
    assert cash_client.get("/verwaltung/").status_code == 302


def test_the_back_office_speaks_english_when_asked(cash_client: Client, settings: Any) -> None:
    cash_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    home = cash_client.get("/verwaltung/").content.decode()
    assert "Signed in as Karl Kasse" in home
    assert "Clearing queue" in home
    queue = cash_client.get("/verwaltung/klaerung/?betrag_von=x").content.decode()
    assert "“x” is not an amount" in queue
    assert 'lang="en"' in queue
