"""The admin: profiles saved with their check and a preview, batches downloaded byte for byte,
"export now", and the reconciliation page."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rathauskasse.core import clock
from rathauskasse.finance import presets, services
from rathauskasse.finance.models import ExportBatch, ExportedLine, ExportProfile
from rathauskasse.receivables.kassenzeichen import Scheme
from tests.finance.exports.conftest import ACTOR, DAY, Books, preset_profile

pytestmark = pytest.mark.django_db


def _form(books: Books, name: str, **changes: object) -> dict[str, object]:
    fields = {**presets.fields(name), **changes}
    data: dict[str, object] = {
        key: value for key, value in fields.items() if key not in ("columns", "record_kinds")
    }
    for field, default in (
        ("delimiter", ";"),
        ("quote_char", '"'),
        ("quoting", "minimal"),
        ("decimal_separator", ","),
    ):
        data.setdefault(field, default)
    data["organisation"] = books.org.pk
    data["columns"] = json.dumps(fields["columns"])
    data["record_kinds"] = fields["record_kinds"]
    data["is_active"] = "on"
    if not fields.get("include_header"):
        data.pop("include_header", None)
    return data


def test_a_profile_is_saved_checked_and_versioned(admin_client: Client, books: Books) -> None:
    add = reverse("admin:finance_exportprofile_add")
    response = admin_client.post(add, _form(books, "generic-csv"))
    errors = response.context["adminform"].form.errors if response.status_code == 200 else None
    assert response.status_code == 302, errors
    profile = ExportProfile.objects.get(name="generic-csv")
    assert profile.version == 1
    assert profile.versions.get().settings["delimiter"] == ";"

    columns = [c for c in presets.fields("generic-csv")["columns"] if c["source"] != "amount"]
    change = reverse("admin:finance_exportprofile_change", args=[profile.pk])
    page = admin_client.post(change, _form(books, "generic-csv", columns=columns))
    assert page.status_code == 200
    assert "Ohne die Spalte „Betrag“" in page.content.decode()
    profile.refresh_from_db()
    assert profile.version == 1

    response = admin_client.post(change, _form(books, "generic-csv", decimal_separator="."))
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.version == 2


def test_the_preview_shows_the_first_rows_without_saving(
    admin_client: Client, books: Books
) -> None:
    url = reverse("admin:finance_exportprofile_preview")
    with clock.frozen(DAY + dt.timedelta(days=2)):
        page = admin_client.post(url, _form(books, "infoma-zahlungseingaenge")).content.decode()
    assert "Kassenzeichen;Betrag;Buchungsdatum" in page
    assert "30,70;30.11.2026;30.11.2026;card" in page
    assert not ExportProfile.objects.exists()
    columns = [c for c in presets.fields("generic-csv")["columns"] if c["source"] != "amount"]
    page = admin_client.post(url, _form(books, "generic-csv", columns=columns)).content.decode()
    assert "So würde das Profil nicht gespeichert" in page
    assert "Betrag" in page


def test_export_now_and_download_give_the_same_bytes(admin_client: Client, books: Books) -> None:
    profile = preset_profile(books.org, "sap-flat")
    changelist = reverse("admin:finance_exportprofile_changelist")
    response = admin_client.post(
        changelist, {"action": "export_now", "_selected_action": [profile.pk]}, follow=True
    )
    assert "Export Nr. 1 mit 10 Sätzen" in response.content.decode()
    batch = ExportBatch.objects.get()
    url = reverse("admin:finance_exportbatch_download", args=[batch.pk])
    first = b"".join(admin_client.get(url).streaming_content)  # type: ignore[attr-defined]
    second = b"".join(admin_client.get(url).streaming_content)  # type: ignore[attr-defined]
    with services.open_batch_file(batch=batch) as stored:
        assert first == second == stored.read()
    response = admin_client.post(
        changelist, {"action": "export_now", "_selected_action": [profile.pk]}, follow=True
    )
    assert "nichts Neues zu exportieren" in response.content.decode()
    page = admin_client.get(reverse("admin:finance_exportbatch_changelist")).content.decode()
    assert batch.filename in page
    assert "Offene Posten abgleichen" in page
    assert ExportedLine.objects.count() == 10


def test_the_reconciliation_page_reports_differences(admin_client: Client, books: Books) -> None:
    profile = services.create_profile(
        actor=ACTOR,
        organisation=books.org,
        name="op-liste",
        column_kassenzeichen="KZ",
        column_amount="Offen",
        column_debtor_name="Name",
        default_department=books.receivables[0].department,
        default_purpose="Abgleich",
        column_budget_line="HHSt",
    )
    kz = Scheme.of(books.org).display(books.receivables[0].kassenzeichen)
    data = f"KZ;Offen;Name\r\n{kz};12,00;X\r\n".encode()
    page = admin_client.post(
        reverse("admin:finance_exportbatch_reconcile"),
        {"profile": profile.pk, "file": SimpleUploadedFile("op.csv", data, "text/csv")},
    ).content.decode()
    assert "mit anderem Betrag" in page
    assert f"<td>{kz}</td><td>1200</td><td>1000</td>" in page
