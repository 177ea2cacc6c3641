from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rathauskasse.core.models import User
from rathauskasse.organisations.models import Department, Membership, Organisation, Role


@pytest.fixture(autouse=True)
def _host_is_org(settings: Any, org: Organisation) -> None:
    settings.PORTAL_ORGANISATION = org.slug


def member(
    org: Organisation, username: str, role: Role, department: Department | None = None, **names: str
) -> User:
    user = User.objects.create_user(username, password="geheim-2026", **names)
    Membership.objects.create(user=user, organisation=org, role=role, department=department)
    return user


@pytest.fixture
def cashier(org: Organisation) -> User:
    return member(org, "kasse", Role.CASH_OFFICE, first_name="Karl", last_name="Kasse")


@pytest.fixture
def cash_client(client: Client, cashier: User) -> Client:
    client.force_login(cashier)
    return client
