"""Notices: the letter a debtor gets, what its QR codes hold, and how it goes out."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image

from rathauskasse.core import audit, epcqr, iso11649
from rathauskasse.core.models import AuditEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments import services as payments
from rathauskasse.receivables import notices, placeholders
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.models import (
    DeliveryChannel,
    Notice,
    NoticeKind,
    NoticeTemplate,
    Receivable,
)
from tests import factories, pdfs

pytestmark = pytest.mark.django_db


def pay(org: Organisation, receivable: Receivable, cents: int) -> None:
    payment = factories.payment(org, receivable)
    payment.allocations.update(amount_cents=cents)
    payment.amount_cents = cents
    payment.save(update_fields=["amount_cents"])
    payments.confirm_payment(
        payment=payment, source=payments.EventSource.POLL, actor=factories.ACTOR
    )


def expected_girocode(org: Organisation, receivable: Receivable, euros: str) -> str:
    return "\n".join(
        [
            "BCD",
            "002",
            "1",
            "SCT",
            org.bic,
            org.creditor_name,
            org.iban,
            f"EUR{euros}",
            "",
            "",
            receivable.kassenzeichen,
            receivable.purpose,
        ]
    )


def test_the_letter_carries_the_pay_link_and_the_girocode_of_the_open_amount(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 3070, 1000)
    pay(org, receivable, 2000)

    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)

    assert notice.amount_cents == 2070  # what is open now, not the 40,70 € of the receivable
    pdf = notices.notice_pdf(notice)
    pay_link, girocode = pdfs.qr_codes(pdf)
    assert pay_link.bytes.decode() == f"http://testserver/p/{receivable.pay_token}/"
    assert girocode.bytes.decode("utf-8") == expected_girocode(org, receivable, "20.7")
    assert girocode.ec_level == "M"
    assert pay_link.ec_level == "M"
    text = pdfs.text(pdf)
    assert "Zahlungsaufforderung" in text
    assert receivable.kassenzeichen_display in text
    assert "40,70 €" in text  # the sum of the lines
    assert "bereits gezahlt" in text
    assert "20,70 €" in text
    assert "DE02 1203 0000 0000 2020 51" in text  # the bank details in words


def test_an_organisation_may_put_an_rf_reference_into_the_girocode(
    department: Department, budget_line: BudgetLine, org: Organisation
) -> None:
    org.girocode_reference = "rf"
    org.save()
    receivable = factories.receivable(org, department, budget_line, 9600)
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    (_, girocode) = pdfs.qr_codes(notices.notice_pdf(notice))
    lines = girocode.bytes.decode().split("\n")
    reference = iso11649.creditor_reference(receivable.kassenzeichen)
    assert lines[7:] == ["EUR96", "", reference, "", receivable.purpose]
    assert iso11649.is_valid(lines[9])
    assert iso11649.display(reference) in pdfs.text(notices.notice_pdf(notice))


def test_names_outside_latin_1_print_and_the_girocode_keeps_to_the_bank_alphabet(
    department: Department, budget_line: BudgetLine
) -> None:
    org = factories.organisation(creditor_name="Urząd Miasta Łodzi – Kasa")
    department = factories.department(org)
    line = factories.budget_line(org)
    receivable = factories.receivable(
        org,
        department,
        line,
        1250,
        purpose="Opłata za parkowanie – Nguyễn",
        debtor=receivable_services.Debtor(
            name="Nguyễn Thị Hương", street="Łąkowa 5", postcode="90-001", city="Łódź"
        ),
    )
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    pdf = notices.notice_pdf(notice)
    text = pdfs.text(pdf)
    for name in ("Nguyễn Thị Hương", "Łąkowa 5", "90-001 Łódź", "Urząd Miasta Łodzi – Kasa"):
        assert name in text
    (_, girocode) = pdfs.qr_codes(pdf)
    lines = girocode.bytes.decode("utf-8").split("\n")
    assert lines[5] == "Urzad Miasta Lodzi - Kasa"  # goes into the transfer: transliterated
    assert lines[11] == "Opłata za parkowanie – Nguyễn"  # shown to the payer only: as it is
    assert len(girocode.bytes) <= 331


def test_a_download_is_the_same_file_as_the_one_issued(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line)
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    first = notices.notice_pdf(notice)
    again = notices.notice_pdf(Notice.objects.get(pk=notice.pk))
    assert first == again
    assert hashlib.sha256(first).hexdigest() == notice.checksum


def test_paid_and_cancelled_receivables_get_no_notice(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    paid = factories.receivable(org, department, budget_line, 500)
    pay(org, paid, 500)
    cancelled = factories.receivable(org, department, budget_line, 500)
    receivable_services.cancel_receivable(
        actor=factories.ACTOR, receivable=cancelled, reason="Irrtum"
    )
    with pytest.raises(notices.NoticeRefused, match="bereits bezahlt"):
        notices.issue_notice(actor=factories.ACTOR, receivable=paid)
    with pytest.raises(notices.NoticeRefused, match="storniert"):
        notices.issue_notice(actor=factories.ACTOR, receivable=cancelled)
    assert not Notice.objects.exists()


def test_notices_are_numbered_and_a_reissue_shows_what_is_open_then(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line, 5000)
    first = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    pay(org, receivable, 1500)
    second = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    assert (first.sequence, first.amount_cents) == (1, 5000)
    assert (second.sequence, second.amount_cents) == (2, 3500)
    assert "35,00 €" in pdfs.text(notices.notice_pdf(second))
    actions = AuditEntry.objects.filter(action="notice.issued").values_list("object_id", flat=True)
    assert sorted(actions) == sorted([str(first.pk), str(second.pk)])


def test_an_email_goes_out_through_the_task_with_the_letter_and_the_link(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    run_tasks: Callable[[], list[str]],
) -> None:
    receivable = factories.receivable(org, department, budget_line)
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    assert notice.channel == DeliveryChannel.EMAIL
    assert notice.delivered_at is None
    assert mail.outbox == []  # only after the commit, through the task

    assert "send_notice" in run_tasks()

    (message,) = mail.outbox
    assert message.to == ["erika@example.org"]
    assert receivable.kassenzeichen_display in message.subject
    assert f"http://testserver/p/{receivable.pay_token}/" in message.body
    (name, content, mimetype) = message.attachments[0]
    assert mimetype == "application/pdf"
    assert name == f"Zahlungsaufforderung-{receivable.kassenzeichen}-1.pdf"
    assert hashlib.sha256(content).hexdigest() == notice.checksum
    notice.refresh_from_db()
    assert notice.delivered_at is not None
    assert notices.send_notice(notice=notice) is False  # never twice
    assert len(mail.outbox) == 1


def test_without_an_address_the_letter_is_marked_for_print(
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    run_tasks: Callable[[], list[str]],
) -> None:
    receivable = factories.receivable(
        org, department, budget_line, debtor=receivable_services.Debtor(name="Max Muster")
    )
    notice = notices.issue_notice(actor=factories.ACTOR, receivable=receivable)
    assert (notice.channel, notice.delivered_at) == (DeliveryChannel.PRINT, None)
    run_tasks()
    assert mail.outbox == []
    with pytest.raises(notices.NoticeRefused, match="keine E-Mail-Adresse"):
        notices.issue_notice(actor=factories.ACTOR, receivable=receivable, channel="email")

    output = io.BytesIO()
    assert notices.print_notices(notices=[notice], output=output, actor=factories.ACTOR) == 1
    notice.refresh_from_db()
    assert notice.delivered_at is not None
    assert receivable.kassenzeichen_display in pdfs.text(output.getvalue())


def test_a_batch_is_one_print_file_in_the_order_of_postal_codes(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    def debtor(name: str, postcode: str, email: str = "") -> receivable_services.Debtor:
        return receivable_services.Debtor(
            name=name, street="Weg 1", postcode=postcode, city="Ort", email=email
        )

    munich = factories.receivable(org, department, budget_line, debtor=debtor("Mia", "80331"))
    berlin = factories.receivable(org, department, budget_line, debtor=debtor("Ben", "10115"))
    online = factories.receivable(
        org, department, budget_line, debtor=debtor("Eva", "01067", "eva@example.org")
    )
    cologne = factories.receivable(org, department, budget_line, debtor=debtor("Kai", "50667"))
    paid = factories.receivable(org, department, budget_line, 700, debtor=debtor("Pia", "20095"))
    pay(org, paid, 700)
    output = io.BytesIO()

    result = notices.issue_batch(
        receivables=[munich, berlin, online, cologne, paid], actor=factories.ACTOR, output=output
    )

    assert (result.printed, result.emailed, len(result.notice_ids)) == (3, 1, 4)
    ((skipped_kz, reason),) = result.skipped
    assert skipped_kz == paid.kassenzeichen_display
    assert "bereits bezahlt" in reason
    pages = pdfs.text(output.getvalue()).split("\f")
    order = [
        name
        for page in pages
        for name in ("Ben", "Kai", "Mia")
        if re.search(rf"^\s*{name}\s*$", page, re.MULTILINE)
    ]
    assert order == ["Ben", "Kai", "Mia"]
    printed = Notice.objects.filter(channel=DeliveryChannel.PRINT)
    assert all(n.delivered_at is not None for n in printed)
    assert Notice.objects.get(receivable=online).delivered_at is None  # goes by e-mail

    everything = io.BytesIO()
    again = notices.issue_batch(
        receivables=[online.pk], actor=factories.ACTOR, channel="print", output=everything
    )
    assert again.printed == 1
    assert Notice.objects.filter(receivable=online).count() == 2


def test_letters_abroad_follow_the_german_ones_in_both_kinds_of_print_file(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    def debtor(name: str, postcode: str, country: str = "DE") -> receivable_services.Debtor:
        return receivable_services.Debtor(
            name=name, street="Weg 1", postcode=postcode, city="Ort", country=country
        )

    eupen = factories.receivable(org, department, budget_line, debtor=debtor("Luc", "4700", "BE"))
    munich = factories.receivable(org, department, budget_line, debtor=debtor("Mia", "80331"))
    nowhere = factories.receivable(org, department, budget_line, debtor=debtor("Ole", ""))
    berlin = factories.receivable(org, department, budget_line, debtor=debtor("Ben", "10115"))

    def order(pdf: bytes) -> list[str]:
        return [
            name
            for page in pdfs.text(pdf).split("\f")
            for name in ("Ben", "Mia", "Ole", "Luc")
            if re.search(rf"^\s*{name}\s*$", page, re.MULTILINE)
        ]

    issued = io.BytesIO()
    notices.issue_batch(
        receivables=[eupen, munich, nowhere, berlin],
        actor=factories.ACTOR,
        channel="print",
        output=issued,
    )
    assert order(issued.getvalue()) == ["Ben", "Mia", "Ole", "Luc"]
    again = io.BytesIO()
    notices.print_notices(notices=Notice.objects.all(), output=again, actor=factories.ACTOR)
    assert order(again.getvalue()) == ["Ben", "Mia", "Ole", "Luc"]


def test_a_batch_is_for_one_organisation(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    other = factories.organisation()
    mine = factories.receivable(org, department, budget_line)
    theirs = factories.receivable(other, factories.department(other), factories.budget_line(other))
    with pytest.raises(notices.ValidationFailed):
        notices.issue_batch(receivables=[mine, theirs], actor=factories.ACTOR, output=io.BytesIO())
    assert not Notice.objects.exists()


def test_the_template_of_the_service_wins_and_is_recorded(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    service = factories.service(org, department, budget_line)
    notices.create_template(
        actor=factories.ACTOR,
        organisation=org,
        kind=NoticeKind.NOTICE,
        subject="Gebühr {zweck}",
        body="Hallo {name}, bitte {betrag} bis {faellig_am}. Klammern: {{so}}.",
    )
    own = notices.create_template(
        actor=factories.ACTOR,
        organisation=org,
        kind=NoticeKind.NOTICE,
        service=service,
        subject="Beglaubigung {kassenzeichen}",
        body="Ihre Beglaubigung kostet {betrag}.",
    )
    with_service = factories.receivable(org, department, budget_line, 1500, service=service)
    without = factories.receivable(org, department, budget_line, 2500)

    a = notices.issue_notice(actor=factories.ACTOR, receivable=with_service)
    b = notices.issue_notice(actor=factories.ACTOR, receivable=without)

    assert (a.template, a.template_version) == (own, 1)
    assert "Ihre Beglaubigung kostet 15,00 €." in pdfs.text(notices.notice_pdf(a))
    text = pdfs.text(notices.notice_pdf(b))
    assert "Hallo Erika Mustermann, bitte 25,00 € bis" in text
    assert "Klammern: {so}." in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Guten Tag {vorname}", "Unbekannte Platzhalter: {vorname}"),
        ("Betrag: {betrag.__class__}", "Unbekannte Platzhalter"),
        ("{{ name }} {  name }", "Unbekannte Platzhalter: {  name }"),
        ("Klammer { offen", "geschweifte Klammer"),
        ("Klammer } zu", "geschweifte Klammer"),
    ],
)
def test_unknown_placeholders_are_refused_on_save(
    org: Organisation, text: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        placeholders.check(text)
    assert message in " ".join(refused.value.messages)
    template = NoticeTemplate(organisation=org, kind="notice", subject="Betreff", body=text)
    with pytest.raises(ValidationError):
        template.full_clean()


def test_the_placeholders_are_what_the_help_lists() -> None:
    text = " ".join(f"{{{name}}}" for name in placeholders.PLACEHOLDERS)
    placeholders.check(text)
    assert placeholders.fill("{name} {{x}}", {"name": "Ada"}) == "Ada {x}"


def test_the_girocode_respects_331_bytes_by_shortening_only_the_hint(org: Organisation) -> None:
    transfer = notices.girocode_transfer(
        organisation=org, kassenzeichen="260000013", open_cents=100, purpose="ễ" * 140
    )
    payload = epcqr.payload(transfer)
    assert len(payload.encode()) <= 331
    assert transfer.text == "260000013"


def test_issuing_is_audited_with_the_actor(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    receivable = factories.receivable(org, department, budget_line)
    notice = notices.issue_notice(actor=audit.Actor(label="sachbearbeitung"), receivable=receivable)
    entry = AuditEntry.objects.get(action="notice.issued", object_id=str(notice.pk))
    assert entry.actor_label == "sachbearbeitung"
    assert entry.organisation_id == org.pk
    assert entry.after["checksum"] == notice.checksum


def test_fonts_are_embedded_and_the_coat_of_arms_is_drawn(
    org: Organisation, department: Department, budget_line: BudgetLine, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    image = Image.new("RGBA", (60, 70), (200, 30, 30, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    org.coat_of_arms.save("wappen.png", ContentFile(buffer.getvalue()))
    receivable = factories.receivable(org, department, budget_line)
    pdf = notices.notice_pdf(notices.issue_notice(actor=factories.ACTOR, receivable=receivable))
    fonts = pdfs.tool_output("pdffonts", pdf)
    assert "FiraSans-Regular" in fonts and "FiraSans-SemiBold" in fonts
    assert all(" yes " in row for row in fonts.splitlines()[2:])  # embedded, every one
    images = pdfs.tool_output("pdfimages", pdf).splitlines()[2:]
    assert len(images) == 1
    assert "60    70" in images[0]
