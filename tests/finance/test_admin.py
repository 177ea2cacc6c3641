"""The admin: profiles edited (and audited), files uploaded with a report, imports read-only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.finance.models import OpenItemImport, OpenItemProfile
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables.models import Receivable
from tests.finance.conftest import counts, csv_bytes, kz, row

pytestmark = pytest.mark.django_db
UPLOAD = "admin:finance_openitemimport_upload"


def _upload(client: Client, profile: OpenItemProfile, data: bytes, name: str = "op.csv") -> str:
    response = client.post(
        reverse(UPLOAD), {"profile": profile.pk, "file": SimpleUploadedFile(name, data, "text/csv")}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_imports_list_offers_the_upload(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:finance_openitemimport_changelist")).content.decode()
    assert reverse(UPLOAD) in page
    assert "Datei importieren" in page


def test_the_upload_page_asks_for_profile_and_file(
    admin_client: Client, profile: OpenItemProfile
) -> None:
    page = admin_client.get(reverse(UPLOAD)).content.decode()
    assert '<label for="id_profile">Profil:</label>' in page
    assert 'enctype="multipart/form-data"' in page
    assert 'aria-describedby="id_file_helptext"' in page
    assert "Höchstens 50 MB" in page
    assert str(profile) in page


def test_an_accepted_file_shows_count_total_and_links_to_the_receivables(
    admin_client: Client, org: Organisation, profile: OpenItemProfile
) -> None:
    page = _upload(admin_client, profile, csv_bytes([row(org, 1), row(org, 2, Betrag="1.000,00")]))
    assert "2 Forderungen angelegt (Summe 1.012,50 €)." in page
    record = OpenItemImport.objects.get()
    link = re.search(r'href="(/admin/receivables/receivable/\?id__gte=\d+&amp;id__lte=\d+)"', page)
    assert link is not None
    listed = admin_client.get(link.group(1).replace("&amp;", "&")).content.decode()
    for receivable in Receivable.objects.all():
        assert receivable.kassenzeichen in listed
    assert reverse("admin:finance_openitemimport_change", args=[record.pk]) in page
    entry = AuditEntry.objects.get(action="open_item_import.created")
    assert entry.actor_label == "admin"


def test_a_rejected_file_shows_every_row_column_and_reason_and_creates_nothing(
    admin_client: Client, org: Organisation, profile: OpenItemProfile
) -> None:
    data = csv_bytes([row(org, 1, Betrag="12,5O"), row(org, 2, Fällig="31.02.2026")])
    before = counts()
    page = _upload(admin_client, profile, data, name="falsch.csv")
    assert counts() == before
    assert 'role="alert"' in page
    assert "Die Datei wurde abgelehnt; es wurde nichts angelegt. 2 Fehler gefunden." in page
    assert '<th scope="col">Zeile</th><th scope="col">Spalte</th><th scope="col">Grund</th>' in page
    start = page.index('<table id="import-errors">')
    table = page[start : page.index("</table>", start)]
    cells = re.findall(r"<td>(.*?)</td>", table, flags=re.S)
    assert cells == [
        "2",
        "Betrag",
        "„12,5O“ ist kein Betrag; erwartet wird z. B. „1.234,56“.",
        "3",
        "Fällig",
        "Den 31.02.2026 gibt es nicht.",
    ]
    assert "„falsch.csv“" in page


def test_the_same_file_again_says_when_it_was_imported(
    admin_client: Client, org: Organisation, profile: OpenItemProfile
) -> None:
    data = csv_bytes([row(org, 1)])
    _upload(admin_client, profile, data)
    page = _upload(admin_client, profile, data, name="nochmal.csv")
    assert "Diese Datei wurde bereits importiert am" in page
    assert "keine neuen Forderungen" in page
    assert Receivable.objects.count() == 1


def test_a_file_over_the_limit_is_refused_by_the_form(
    admin_client: Client, profile: OpenItemProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rathauskasse.finance import openitems

    monkeypatch.setattr(openitems, "MAX_FILE_BYTES", 10)
    page = _upload(admin_client, profile, b"x" * 20)
    assert "höchstens" in page
    assert not OpenItemImport.objects.exists()


def test_staff_without_the_right_may_not_upload(client: Client, profile: OpenItemProfile) -> None:
    clerk = User.objects.create_user("sb", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_openitemimport"))
    client.force_login(clerk)
    assert client.get(reverse(UPLOAD)).status_code == 403
    page = client.get(reverse("admin:finance_openitemimport_changelist")).content.decode()
    assert "Datei importieren" not in page
    clerk.user_permissions.add(Permission.objects.get(codename="add_openitemimport"))
    clerk = User.objects.get(pk=clerk.pk)
    client.force_login(clerk)
    assert client.get(reverse(UPLOAD)).status_code == 200


def _profile_form(
    org: Organisation, department: Department, line: BudgetLine, **changes: Any
) -> dict[str, Any]:
    form: dict[str, Any] = {
        "organisation": org.pk,
        "name": "neu",
        "description": "",
        "encoding": "cp1252",
        "delimiter": ";",
        "quote_char": '"',
        "has_header": "on",
        "decimal_separator": ",",
        "thousands_separator": ".",
        "date_format": "%d.%m.%Y",
        "column_kassenzeichen": "KZ",
        "column_amount": "Betrag",
        "column_debtor_name": "Name",
        "default_budget_line": line.pk,
        "default_department": department.pk,
        "default_purpose": "Grundsteuer",
        "payment_days": 14,
    }
    for column in ("street", "postcode", "city", "country", "email", "account"):
        form[f"column_debtor_{column}"] = ""
    for column in ("due_date", "purpose", "budget_line", "department", "reference"):
        form[f"column_{column}"] = ""
    form.update(changes)
    return form


def test_a_profile_is_made_in_the_admin_checked_and_audited(
    admin_client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    url = reverse("admin:finance_openitemprofile_add")
    page = admin_client.post(
        url, _profile_form(org, department, budget_line, column_amount="KZ", default_purpose="")
    ).content.decode()
    assert "Diese Spalte ist schon für „Kassenzeichen“ angegeben." in page
    assert "Geben Sie die Spalte mit dem Zweck an oder nennen Sie ihn hier." in page
    assert not OpenItemProfile.objects.exists()

    response = admin_client.post(url, _profile_form(org, department, budget_line))
    assert response.status_code == 302
    profile = OpenItemProfile.objects.get()
    entry = AuditEntry.objects.get(action="openitemprofile.created_in_admin")
    assert entry.object_id == str(profile.pk)
    assert entry.after["encoding"] == "cp1252"

    delete = reverse("admin:finance_openitemprofile_delete", args=[profile.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not OpenItemProfile.objects.exists()
    gone = AuditEntry.objects.get(action="openitemprofile.deleted_in_admin")
    assert gone.before["columns"] == {
        "kassenzeichen": "KZ",
        "amount": "Betrag",
        "debtor_name": "Name",
    }


def test_a_profile_without_header_needs_column_numbers(
    admin_client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    form = _profile_form(org, department, budget_line)
    del form["has_header"]
    page = admin_client.post(reverse("admin:finance_openitemprofile_add"), form).content.decode()
    assert "Ohne Kopfzeile wird jede Spalte mit ihrer Nummer angegeben" in page
    form.update(column_kassenzeichen="1", column_amount="2", column_debtor_name="3")
    assert admin_client.post(reverse("admin:finance_openitemprofile_add"), form).status_code == 302


def test_a_used_profile_cannot_be_deleted_and_the_import_cannot_be_changed(
    admin_client: Client, org: Organisation, profile: OpenItemProfile
) -> None:
    _upload(admin_client, profile, csv_bytes([row(org, 1)]))
    record = OpenItemImport.objects.get()
    delete = reverse("admin:finance_openitemprofile_delete", args=[profile.pk])
    admin_client.post(delete, {"post": "yes"})
    assert OpenItemProfile.objects.filter(pk=profile.pk).exists()
    page = admin_client.get(
        reverse("admin:finance_openitemimport_change", args=[record.pk])
    ).content.decode()
    assert "&quot;decimal_separator&quot;: &quot;,&quot;" in page
    assert kz(org, 1) not in page  # the record lists ranges, the receivables list shows them
    assert "Forderung Nr." in page
    assert admin_client.get(reverse("admin:finance_openitemimport_add")).status_code == 403
