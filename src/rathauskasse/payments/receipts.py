"""The receipt (Quittung) of a succeeded payment: its data, its PDF, and the e-mail that sends it.

The receipt is built from what is stored (allocations, the success event), never from the
moment of download, so it reads the same and is the same file every time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.html import escape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from rathauskasse.catalogue.models import PaymentMethod
from rathauskasse.core import clock, pdf
from rathauskasse.core.errors import Conflict
from rathauskasse.core.money import Money
from rathauskasse.payments.models import Payment, PaymentEvent, PaymentStatus
from rathauskasse.receivables.kassenzeichen import Scheme

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class ReceiptItem:
    kassenzeichen: str
    purpose: str
    department: str
    amount_cents: int


@dataclass(frozen=True)
class Receipt:
    organisation_name: str
    organisation_address: tuple[str, ...]
    payment_id: str
    provider_reference: str
    method_label: str
    paid_at: dt.datetime
    amount_cents: int
    items: tuple[ReceiptItem, ...]

    @property
    def filename(self) -> str:
        return f"Quittung-{self.items[0].kassenzeichen.replace(' ', '')}.pdf"


class NoReceipt(Conflict):
    code = "receipt_not_available"


def receipt_for(payment: Payment) -> Receipt:
    """The receipt of a succeeded payment; refuses any other."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise NoReceipt("Eine Quittung gibt es erst, wenn die Zahlung eingegangen ist.")
    organisation = payment.organisation
    scheme = Scheme.of(organisation)
    succeeded = (
        PaymentEvent.objects.filter(payment=payment, to_status=PaymentStatus.SUCCEEDED)
        .values_list("created_at", flat=True)
        .first()
    )
    allocations = payment.allocations.select_related(
        "receivable", "receivable__department"
    ).order_by("receivable__kassenzeichen")
    address = tuple(
        part
        for part in (
            organisation.street,
            f"{organisation.postcode} {organisation.city}".strip(),
        )
        if part
    )
    return Receipt(
        organisation_name=organisation.name,
        organisation_address=address,
        payment_id=str(payment.public_id),
        provider_reference=payment.provider_reference,
        method_label=_german(PaymentMethod(payment.method).label),
        paid_at=(succeeded or payment.updated_at).astimezone(BERLIN),
        amount_cents=payment.amount_cents,
        items=tuple(
            ReceiptItem(
                kassenzeichen=scheme.display(a.receivable.kassenzeichen),
                purpose=a.receivable.purpose,
                department=a.receivable.department.name,
                amount_cents=a.amount_cents,
            )
            for a in allocations
        ),
    )


def _german(label: object) -> str:
    """The receipt is a German document, the same file whatever language the page was in."""
    with translation.override("de"):
        return str(label)


def render_receipt(receipt: Receipt) -> bytes:
    styles = pdf.Styles

    def para(text: str, style: ParagraphStyle = styles.body) -> Paragraph:
        return Paragraph(escape(text), style)

    rows: list[list[Paragraph]] = [
        [
            para("Kassenzeichen", styles.bold),
            para("Zweck", styles.bold),
            Paragraph("<b>Betrag</b>", styles.right),
        ]
    ]
    rows += [
        [
            para(item.kassenzeichen),
            para(f"{item.purpose} ({item.department})"),
            para(Money(item.amount_cents).format_de(), styles.right),
        ]
        for item in receipt.items
    ]
    rows.append(
        [
            para(""),
            para("Summe", styles.bold),
            Paragraph(f"<b>{escape(Money(receipt.amount_cents).format_de())}</b>", styles.right),
        ]
    )
    table = Table(rows, colWidths=[38 * mm, 88 * mm, 39 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, pdf.RULE_COLOUR),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, pdf.RULE_COLOUR),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    details = Table(
        [
            [para("Bezahlt am"), para(receipt.paid_at.strftime("%d.%m.%Y um %H:%M Uhr"))],
            [para("Zahlart"), para(receipt.method_label)],
            [para("Referenz des Zahlungsdienstes"), para(receipt.provider_reference or "–")],
            [para("Zahlungs-ID"), para(receipt.payment_id)],
        ],
        colWidths=[60 * mm, 105 * mm],
    )
    details.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story = [
        para(receipt.organisation_name, styles.bold),
        *[para(line, styles.small) for line in receipt.organisation_address],
        Spacer(0, 12 * mm),
        para("Quittung", styles.heading),
        para(
            f"Wir bestätigen den Eingang von {Money(receipt.amount_cents).format_de()} "
            "für die folgenden Kassenzeichen:"
        ),
        Spacer(0, 5 * mm),
        table,
        Spacer(0, 8 * mm),
        details,
        Spacer(0, 12 * mm),
        para(
            "Diese Quittung wurde maschinell erstellt und ist ohne Unterschrift gültig.",
            styles.small,
        ),
    ]
    return pdf.render(
        story,
        title=f"Quittung {receipt.items[0].kassenzeichen}",
        author=receipt.organisation_name,
        subject="Zahlungsbestätigung",
    )


def send_receipt(*, payment: Payment) -> bool:
    """E-mail the receipt to the payer's address once; False when there is nothing to send."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if not locked.payer_email or locked.receipt_sent_at is not None:
            return False
        receipt = receipt_for(locked)
        message = EmailMessage(
            subject=f"Ihre Quittung: {receipt.items[0].kassenzeichen}",
            body=_receipt_text(receipt),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[locked.payer_email],
        )
        message.attach(receipt.filename, render_receipt(receipt), "application/pdf")
        # Sent under the lock: a failed send raises, nothing is marked, and the task is retried;
        # two workers never send the same receipt twice.
        message.send()
        Payment.objects.filter(pk=locked.pk).update(receipt_sent_at=clock.now())
    return True


def _receipt_text(receipt: Receipt) -> str:
    lines = [
        "Guten Tag,",
        "",
        (
            f"vielen Dank für Ihre Zahlung von {Money(receipt.amount_cents).format_de()} "
            f"an {receipt.organisation_name}."
        ),
        "",
        *[
            f"- {item.kassenzeichen}: {item.purpose} ({Money(item.amount_cents).format_de()})"
            for item in receipt.items
        ],
        "",
        (
            f"Bezahlt am {receipt.paid_at.strftime('%d.%m.%Y um %H:%M Uhr')} "
            f"per {receipt.method_label}."
        ),
        "Die Quittung finden Sie im Anhang.",
        "",
        "Mit freundlichen Grüßen",
        receipt.organisation_name,
    ]
    return "\n".join(lines)
