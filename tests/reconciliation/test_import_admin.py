"""The upload page: the import runs as a background task, its page shows the progress with a
<progress> element and reloads itself by an HTTP Refresh header (no script), then the result."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.reconciliation import services
from rathauskasse.reconciliation.models import (
    BankAccount,
    FileStatus,
    StatementFile,
    StatementLine,
)
from tests import factories
from tests.reconciliation.conftest import OTHER_IBAN, info, line, statement_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("standins")]
UPLOAD = "admin:reconciliation_statementfile_upload"


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def _upload(
    client: Client, org: Organisation, data: bytes, name: str = "auszug.xml"
) -> StatementFile:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse(UPLOAD), {"organisation": org.pk, "file": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 302
    record = StatementFile.objects.order_by("-id").first()
    assert record is not None
    assert response["Location"] == reverse(
        "admin:reconciliation_statementfile_progress", args=[record.pk]
    )
    return record


def test_the_upload_page_and_the_list_link_to_each_other(admin_client: Client) -> None:
    page = admin_client.get(reverse(UPLOAD))
    assert page.status_code == 200
    assert "Kontoauszug importieren" in page.content.decode()
    listing = admin_client.get(reverse("admin:reconciliation_statementfile_changelist"))
    assert reverse(UPLOAD) in listing.content.decode()


def test_an_upload_is_imported_in_the_background_and_its_page_follows_it(
    admin_client: Client,
    org: Organisation,
    bank_account: BankAccount,
    department: Department,
    budget_line: BudgetLine,
    run_tasks: Callable[[], list[str]],
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070)
    data = statement_bytes(
        [line(3070, f"KZ {receivable.kassenzeichen}", entry=1), line(500, "?", entry=2)]
    )
    record = _upload(admin_client, org, data)
    assert record.status == FileStatus.QUEUED
    assert StatementLine.objects.count() == 0
    assert AuditEntry.objects.filter(action="statement_file.uploaded").exists()

    page = admin_client.get(
        reverse("admin:reconciliation_statementfile_progress", args=[record.pk])
    )
    assert page["Refresh"] == "2"
    assert "<progress" in page.content.decode()
    assert "wartet auf den Hintergrunddienst" in page.content.decode()

    # While it runs, the page shows how far it got.
    StatementFile.objects.filter(pk=record.pk).update(
        status=FileStatus.RUNNING, progress_done=500, progress_total=2000
    )
    page = admin_client.get(
        reverse("admin:reconciliation_statementfile_progress", args=[record.pk])
    )
    body = page.content.decode()
    assert '<progress id="import-progress" max="2000" value="500">25 %</progress>' in body
    assert "500 von 2000" in body
    StatementFile.objects.filter(pk=record.pk).update(status=FileStatus.QUEUED)

    assert run_tasks() == ["import_statement_file"]
    record.refresh_from_db()
    assert record.status == FileStatus.IMPORTED
    assert (record.lines_booked, record.lines_clearing) == (1, 1)
    assert StatementLine.objects.count() == 2
    page = admin_client.get(
        reverse("admin:reconciliation_statementfile_progress", args=[record.pk])
    )
    assert "Refresh" not in page
    body = page.content.decode()
    assert "Importiert am" in body
    assert "35,70" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # CSP: no inline script
    lines = admin_client.get(page.context["lines_url"])
    assert lines.status_code == 200
    assert "Betrag passt genau" in lines.content.decode()

    # The same file again: the task says so and books nothing.
    again = _upload(admin_client, org, data, name="nochmal.xml")
    run_tasks()
    again.refresh_from_db()
    assert again.status == FileStatus.DUPLICATE
    assert "bereits am" in again.message
    assert StatementLine.objects.count() == 2


def test_a_refused_upload_shows_why_and_books_nothing(
    admin_client: Client,
    org: Organisation,
    bank_account: BankAccount,
    run_tasks: Callable[[], list[str]],
) -> None:
    record = _upload(
        admin_client, org, statement_bytes([line(100, "x", statement=info(iban=OTHER_IBAN))])
    )
    run_tasks()
    record.refresh_from_db()
    assert record.status == FileStatus.REJECTED
    page = admin_client.get(
        reverse("admin:reconciliation_statementfile_progress", args=[record.pk])
    )
    assert OTHER_IBAN in page.content.decode()
    assert "Refresh" not in page
    assert StatementLine.objects.count() == 0


def test_a_task_run_twice_imports_once(org: Organisation, bank_account: BankAccount) -> None:
    record = services.upload_statement(
        organisation=org,
        data=statement_bytes([line(100, "x")]),
        file_name="a",
        actor=factories.ACTOR,
    )
    assert services.import_upload(file_id=record.pk) is not None
    assert services.import_upload(file_id=record.pk) is None
    assert StatementLine.objects.count() == 1


def test_a_failing_import_is_marked_and_leaves_nothing(
    org: Organisation, bank_account: BankAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = services.upload_statement(
        organisation=org,
        data=statement_bytes([line(100, "x")]),
        file_name="a",
        actor=factories.ACTOR,
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaputt")

    monkeypatch.setattr(services._Booking, "book", broken)
    with pytest.raises(RuntimeError):
        services.import_upload(file_id=record.pk)
    record.refresh_from_db()
    assert record.status == FileStatus.FAILED
    assert "nichts gebucht" in record.message
    assert StatementLine.objects.count() == 0


def test_only_staff_who_may_import_can_upload(client: Client, org: Organisation) -> None:
    staff = User.objects.create_user("kasse", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(UPLOAD)).status_code == 403


def test_the_records_are_shown_read_only(
    admin_client: Client, org: Organisation, bank_account: BankAccount
) -> None:
    record = services.upload_statement(
        organisation=org,
        data=statement_bytes([line(100, "x")]),
        file_name="a",
        actor=factories.ACTOR,
    )
    services.import_upload(file_id=record.pk)
    stored = StatementLine.objects.get()
    for name, pk in (
        ("reconciliation_statementfile_change", record.pk),
        ("reconciliation_statementline_change", stored.pk),
        ("reconciliation_statement_change", stored.statement_id),
        ("reconciliation_bankaccount_change", bank_account.pk),
    ):
        page = admin_client.get(reverse(f"admin:{name}", args=[pk]))
        assert page.status_code == 200, name
    listing = admin_client.get(reverse("admin:reconciliation_statementline_changelist"))
    assert "kein Kassenzeichen" in listing.content.decode()
    assert "in der Klärung" in listing.content.decode()
