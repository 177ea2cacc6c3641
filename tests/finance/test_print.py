"""The print file of an import: its open receivables' Zahlungsaufforderungen, by postal code."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.finance import services
from rathauskasse.finance.models import OpenItemImport, OpenItemProfile
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import DeliveryChannel, Notice, NoticeKind, Receivable
from tests import factories
from tests.finance.conftest import csv_bytes, kz, row
from tests.pdfs import text

pytestmark = pytest.mark.django_db

# Imported out of postal order on purpose: the print file sorts them.
ROWS = (
    ("3", "80331", "Zofia Wójcik"),
    ("1", "10115", "Jürgen Müller"),
    ("2", "52349", "Ayşe Yılmaz"),
)


@pytest.fixture
def imported(org: Organisation, run: Callable[..., services.ImportResult]) -> OpenItemImport:
    rows = [row(org, int(n), PLZ=plz, Name=name) for n, plz, name in ROWS]
    result = run(csv_bytes(rows))
    assert result.record is not None
    return result.record


def print_to_bytes(record: OpenItemImport) -> tuple[int, bytes]:
    output = io.BytesIO()
    letters = services.print_import(record=record, actor=factories.ACTOR, output=output)
    return letters, output.getvalue()


def test_the_print_file_holds_one_letter_per_open_receivable_in_postal_order(
    org: Organisation, imported: OpenItemImport
) -> None:
    letters, pdf = print_to_bytes(imported)
    assert letters == 3
    assert pdf.startswith(b"%PDF-")
    printed = text(pdf)
    positions = [printed.index(shown(org, n)) for n in ("1", "2", "3")]
    assert positions == sorted(positions)  # 10115, 52349, 80331
    assert "Zofia Wójcik" in printed and "Ayşe Yılmaz" in printed
    issued = Notice.objects.filter(receivable__organisation=org)
    assert issued.count() == 3
    assert set(issued.values_list("kind", "channel")) == {
        (NoticeKind.NOTICE, DeliveryChannel.PRINT)
    }
    assert AuditEntry.objects.filter(action="open_item_import.printed").count() == 1


def test_printing_again_issues_nothing_new_and_leaves_out_what_was_paid_or_cancelled(
    org: Organisation, imported: OpenItemImport
) -> None:
    print_to_bytes(imported)
    first = Receivable.objects.get(organisation=org, kassenzeichen=compact(org, "1"))
    receivable_services.cancel_receivable(
        actor=factories.ACTOR, receivable=first, reason="Bescheid aufgehoben"
    )
    letters, pdf = print_to_bytes(imported)
    assert letters == 2
    assert shown(org, "1") not in text(pdf)
    assert Notice.objects.filter(receivable__organisation=org).count() == 3  # none issued twice


def test_the_admin_offers_the_print_file_after_the_upload_and_on_the_import(
    admin_client: Client, profile: OpenItemProfile, org: Organisation
) -> None:
    data = csv_bytes([row(org, int(n), PLZ=plz, Name=name) for n, plz, name in ROWS])
    page = admin_client.post(
        "/admin/finance/openitemimport/upload/",
        {"profile": profile.pk, "file": io.BytesIO(data)},
        format="multipart",
    )
    record = OpenItemImport.objects.get()
    link = f"/admin/finance/openitemimport/{record.pk}/bescheide.pdf"
    assert link in page.content.decode()
    assert (
        link
        in admin_client.get(f"/admin/finance/openitemimport/{record.pk}/change/").content.decode()
    )
    response = admin_client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]
    assert Notice.objects.count() == 3


def test_staff_without_the_right_to_issue_notices_may_not_print(
    client: Client, imported: OpenItemImport
) -> None:
    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_openitemimport"))
    client.force_login(clerk)
    response = client.get(f"/admin/finance/openitemimport/{imported.pk}/bescheide.pdf")
    assert response.status_code == 403
    assert not Notice.objects.exists()


def test_the_command_line_prints_the_import(
    org: Organisation, profile: OpenItemProfile, tmp_path: Path
) -> None:
    source, target = tmp_path / "op.csv", tmp_path / "bescheide.pdf"
    source.write_bytes(csv_bytes([row(org, int(n), PLZ=plz, Name=name) for n, plz, name in ROWS]))
    out = io.StringIO()
    call_command(
        "import_open_items",
        str(source),
        "--profile",
        profile.name,
        "--print",
        str(target),
        stdout=out,
    )
    assert "3 Forderungen angelegt" in out.getvalue()
    assert f"3 Zahlungsaufforderungen in {target} geschrieben." in out.getvalue()
    assert target.read_bytes().startswith(b"%PDF-")


def compact(org: Organisation, number: str) -> str:
    return Scheme.of(org).normalise(kz(org, int(number)))


def shown(org: Organisation, number: str) -> str:
    """The Kassenzeichen as the letter prints it."""
    return Scheme.of(org).display(compact(org, number))
