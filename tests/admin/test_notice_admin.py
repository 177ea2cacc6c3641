"""Notices in the admin: issue several into one print PDF, download one, templates, rules."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from rathauskasse.core.models import AuditEntry, User
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import notices
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.models import DeliveryChannel, Notice, NoticeTemplate
from tests import factories, pdfs

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "pw"))
    return client


def test_an_admin_action_prints_the_selected_receivables_into_one_pdf(
    admin_client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    first = factories.receivable(org, department, budget_line, 1000)
    second = factories.receivable(org, department, budget_line, 2000)
    cancelled = factories.receivable(org, department, budget_line, 500)
    receivable_services.cancel_receivable(
        actor=factories.ACTOR, receivable=cancelled, reason="Irrtum"
    )

    response = admin_client.post(
        reverse("admin:receivables_receivable_changelist"),
        {"action": "issue_and_print", "_selected_action": [first.pk, second.pk, cancelled.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdfs.text(response.content)
    assert first.kassenzeichen_display in text
    assert second.kassenzeichen_display in text
    assert set(Notice.objects.values_list("receivable_id", "channel")) == {
        (first.pk, DeliveryChannel.PRINT),
        (second.pk, DeliveryChannel.PRINT),
    }
    assert AuditEntry.objects.filter(action="notice.issued", actor_label="admin").count() == 2


def test_sending_mails_those_with_an_address_and_says_what_was_skipped(
    admin_client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    online = factories.receivable(org, department, budget_line)
    cancelled = factories.receivable(org, department, budget_line, 500)
    receivable_services.cancel_receivable(
        actor=factories.ACTOR, receivable=cancelled, reason="Irrtum"
    )
    response = admin_client.post(
        reverse("admin:receivables_receivable_changelist"),
        {"action": "issue_and_send", "_selected_action": [online.pk, cancelled.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 Bescheid(e) gehen per E-Mail hinaus." in page
    assert "storniert" in page
    assert Notice.objects.get().channel == DeliveryChannel.EMAIL


def test_a_notice_downloads_as_the_same_pdf_from_its_page(
    admin_client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line)
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    page = admin_client.get(reverse("admin:receivables_receivable_change", args=[receivable.pk]))
    url = reverse("admin:receivables_notice_pdf", args=[notice.pk])
    assert url in page.content.decode()
    download = admin_client.get(url)
    assert download["Content-Type"] == "application/pdf"
    assert hashlib.sha256(download.content).hexdigest() == notice.checksum


def test_reprinting_marks_the_letters_as_delivered(
    admin_client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(
        org, department, budget_line, debtor=receivable_services.Debtor(name="Max Muster")
    )
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    response = admin_client.post(
        reverse("admin:receivables_notice_changelist"),
        {"action": "print_selected", "_selected_action": [notice.pk]},
    )
    assert response["Content-Type"] == "application/pdf"
    notice.refresh_from_db()
    assert notice.delivered_at is not None


def test_a_template_with_an_unknown_placeholder_is_refused_in_german(
    admin_client: Client, org: Organisation
) -> None:
    url = reverse("admin:receivables_noticetemplate_add")
    form = {
        "organisation": org.pk,
        "kind": "notice",
        "subject": "{zweck}",
        "body": "Guten Tag {anrede} {name}",
    }
    refused = admin_client.post(url, form)
    assert refused.status_code == 200
    assert "Unbekannte Platzhalter: {anrede}" in refused.content.decode()
    assert not NoticeTemplate.objects.exists()

    form["body"] = "Guten Tag {name}"
    assert admin_client.post(url, form).status_code == 302
    template = NoticeTemplate.objects.get()
    assert template.version == 1
    change = reverse("admin:receivables_noticetemplate_change", args=[template.pk])
    assert admin_client.post(change, {**form, "body": "Hallo {name}"}).status_code == 302
    template.refresh_from_db()
    assert (template.body, template.version) == ("Hallo {name}", 2)
    assert AuditEntry.objects.filter(action="noticetemplate.changed_in_admin").exists()
