"""Issuing notices (Zahlungsaufforderung, Zahlungserinnerung): one letter, or a print run.

Invariants kept here:
- only an open receivable with a positive open amount gets a notice; paid and cancelled ones are
  refused (one notice) or skipped with the reason (a batch);
- the amount a notice shows is the receivable's open amount at the moment it is issued;
- notices of a receivable are numbered 1, 2, 3 … without gaps (under the receivable's row lock);
  a receivable gets at most one reminder (a unique index holds it to that);
- a notice stores everything its letter shows (`content`) and the SHA-256 of the letter's PDF;
  the PDF is drawn again from that content on every download and is the same file;
- e-mail leaves through a task written in the issuing transaction, so a rolled-back issue sends
  nothing; a letter counts as delivered when it went into a print file (`delivered_at`);
- every notice has an audit entry in the transaction that issues it.

A print run streams: receivables are read and letters drawn chunk by chunk, in the order of the
postal codes, straight into the output file (`issue_batch`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse

from rathauskasse.catalogue.models import Service
from rathauskasse.core import audit, clock, epcqr, iso11649
from rathauskasse.core.errors import Conflict, ValidationFailed, full_clean_or_fail
from rathauskasse.core.money import Money
from rathauskasse.core.pdfstream import Page
from rathauskasse.core.tasks import enqueue
from rathauskasse.organisations.models import GiroCodeReference, Organisation
from rathauskasse.receivables import letter, placeholders
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.letter import LetterContent
from rathauskasse.receivables.models import (
    DeliveryChannel,
    Notice,
    NoticeKind,
    NoticeTemplate,
    Receivable,
    ReceivableStatus,
)

BERLIN = ZoneInfo("Europe/Berlin")
#: Receivables read, locked and drawn at a time in a print run.
CHUNK = 200

TITLES = {NoticeKind.NOTICE: "Zahlungsaufforderung", NoticeKind.REMINDER: "Zahlungserinnerung"}

#: The texts of an organisation without a template of its own (template version 0).
DEFAULT_TEXTS: dict[str, tuple[str, str]] = {
    NoticeKind.NOTICE: (
        "{zweck}",
        (
            "Guten Tag {name},\n\n"
            "für {zweck} bitten wir Sie, {betrag} bis zum {faellig_am} zu zahlen. Bitte geben "
            "Sie bei jeder Zahlung das Kassenzeichen {kassenzeichen} an.\n\n"
            "Am schnellsten geht es online: Scannen Sie den QR-Code unten links. Mit dem "
            "GiroCode füllt Ihre Banking-App die Überweisung von selbst aus. Bei Fragen "
            "erreichen Sie uns unter den oben genannten Kontaktdaten.\n\n"
            "Mit freundlichen Grüßen\n{amt}"
        ),
    ),
    NoticeKind.REMINDER: (
        "Zahlungserinnerung: {zweck}",
        (
            "Guten Tag {name},\n\n"
            "sicher haben Sie es nur übersehen: Für {zweck} ist bei uns noch nicht der ganze "
            "Betrag eingegangen. Offen sind {betrag}. Bitte zahlen Sie bis zum {faellig_am} und "
            "geben Sie das Kassenzeichen {kassenzeichen} an.\n\n"
            "Online geht es mit dem QR-Code unten links, per Überweisung mit dem GiroCode. Haben "
            "Sie in den letzten Tagen schon gezahlt, ist dieses Schreiben gegenstandslos.\n\n"
            "Mit freundlichen Grüßen\n{amt}"
        ),
    ),
}


class NoticeRefused(Conflict):
    code = "notice_refused"


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a print run did. Ids only, so that a run of 100,000 stays small in memory."""

    notice_ids: list[int]
    emailed: int
    printed: int
    pages: int
    #: (Kassenzeichen, why) of receivables that got no notice.
    skipped: list[tuple[str, str]] = field(default_factory=list)


@transaction.atomic
def create_template(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    kind: str,
    subject: str,
    body: str,
    service: Service | None = None,
) -> NoticeTemplate:
    """A template of one kind of letter, for one service or (without) for all."""
    template = NoticeTemplate(
        organisation=organisation, kind=kind, service=service, subject=subject, body=body
    )
    full_clean_or_fail(template)
    template.save()
    audit.record(
        actor=actor,
        action="notice_template.created",
        obj=template,
        organisation_id=organisation.pk,
        after={"kind": kind, "service": service.pk if service else None, "subject": subject},
    )
    return template


# --- what a letter shows ------------------------------------------------------------------------


def _date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def pay_url(receivable: Receivable) -> str:
    site: str = settings.SITE_URL
    return site + reverse("portal:pay-link", args=[receivable.pay_token])


def girocode_transfer(
    *, organisation: Organisation, kassenzeichen: str, open_cents: int, purpose: str
) -> epcqr.Transfer:
    """The GiroCode of a receivable: version 002, UTF-8, the open amount, and the Kassenzeichen
    as remittance text, or as an RF reference when the organisation chose that (and the
    Kassenzeichen fits one). The purpose goes into line 12, which the payer sees and the
    transfer does not carry; name and remittance keep to the SEPA character set."""
    reference, text = "", kassenzeichen
    body = iso11649.normalise(kassenzeichen)
    if (
        organisation.girocode_reference == GiroCodeReference.RF
        and len(body) <= iso11649.MAX_BODY
        and body.isalnum()
        and body.isascii()
    ):
        reference, text = iso11649.creditor_reference(body), ""
    information = " ".join(purpose.split())[:70]
    while True:
        transfer = epcqr.Transfer(
            name=epcqr.sepa_text(organisation.creditor_name)[:70].strip(),
            iban=organisation.iban,
            bic=organisation.bic,
            amount_cents=open_cents,
            reference=reference,
            text=text,
            information=information,
        )
        try:
            epcqr.payload(transfer)
        except epcqr.InvalidTransfer:
            if not information:
                raise
            information = information[:-10].rstrip()  # over 331 bytes: shorten the hint
            continue
        return transfer


def girocode_for(*, receivable: Receivable, open_cents: int) -> epcqr.Transfer:
    """The GiroCode of a receivable's open amount (the letter's, and the pay page's)."""
    return girocode_transfer(
        organisation=receivable.organisation,
        kassenzeichen=receivable.kassenzeichen,
        open_cents=open_cents,
        purpose=receivable.purpose,
    )


def choose_template(
    *, organisation: Organisation, kind: str, service: Service | None
) -> NoticeTemplate | None:
    """The service's own template of this kind, else the organisation's, else none."""
    which = Q(service__isnull=True) | Q(service=service) if service else Q(service__isnull=True)
    found = {
        t.service_id: t
        for t in NoticeTemplate.objects.filter(which, organisation=organisation, kind=kind)
    }
    if service is not None and service.pk in found:
        return found[service.pk]
    return found.get(None)


class _Templates:
    """Templates looked up once per (kind, service) in a run."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self._found: dict[tuple[str, int | None], NoticeTemplate | None] = {}

    def get(self, kind: str, service: Service | None) -> NoticeTemplate | None:
        key = (kind, service.pk if service else None)
        if key not in self._found:
            self._found[key] = choose_template(
                organisation=self.organisation, kind=kind, service=service
            )
        return self._found[key]


def build_content(
    *,
    receivable: Receivable,
    open_cents: int,
    kind: str,
    due_date: dt.date,
    issued_on: dt.date,
    template: NoticeTemplate | None,
    fee_cents: int = 0,
) -> LetterContent:
    organisation = receivable.organisation
    department = receivable.department
    scheme = Scheme.of(organisation)
    kz = scheme.display(receivable.kassenzeichen)
    url = pay_url(receivable)
    transfer = girocode_for(receivable=receivable, open_cents=open_cents)
    values = {
        "name": receivable.debtor_name,
        "kassenzeichen": kz,
        "zweck": receivable.purpose,
        "betrag": Money(open_cents).format_de(),
        "faellig_am": _date(due_date),
        "datum": _date(issued_on),
        "amt": department.name,
        "organisation": organisation.name,
        "empfaenger": organisation.creditor_name,
        "iban": _iban_groups(organisation.iban),
        "bic": organisation.bic,
        "zahlungslink": url,
        "mahngebuehr": Money(fee_cents).format_de(),
    }
    subject, body = (template.subject, template.body) if template else DEFAULT_TEXTS[kind]
    place = f"{organisation.postcode} {organisation.city}".strip()
    letterhead = tuple(
        part
        for part in (
            organisation.street,
            place,
            f"Telefon {organisation.phone}" if organisation.phone else "",
            organisation.email,
            organisation.website.removeprefix("https://").removeprefix("http://"),
        )
        if part
    )
    address = tuple(
        part
        for part in (
            receivable.debtor_name,
            receivable.debtor_street,
            f"{receivable.debtor_postcode} {receivable.debtor_city}".strip(),
            receivable.debtor_country.upper() if receivable.debtor_country != "DE" else "",
        )
        if part
    )
    info = [
        ("Kassenzeichen", kz),
        ("Datum", _date(issued_on)),
        ("Amt", department.name),
    ]
    phone = department.phone or organisation.phone
    email = department.email or organisation.email
    if phone:
        info.append(("Telefon", phone))
    if email:
        info.append(("E-Mail", email))
    if receivable.debtor_account:
        info.append(("Personenkonto", receivable.debtor_account))
    bank = [("Empfänger", organisation.creditor_name), ("IBAN", _iban_groups(organisation.iban))]
    if organisation.bic:
        bank.append(("BIC", organisation.bic))
    bank.append(("Betrag", Money(open_cents).format_de()))
    if transfer.reference:
        bank.append(("Referenz (bitte genau so angeben)", iso11649.display(transfer.reference)))
    else:
        bank.append(("Verwendungszweck", receivable.kassenzeichen))
    bank_line = f"IBAN {_iban_groups(organisation.iban)}"
    if organisation.bic:
        bank_line += f" · BIC {organisation.bic}"
    return LetterContent(
        title=TITLES[NoticeKind(kind)],
        organisation=organisation.name,
        department=department.name,
        letterhead=letterhead,
        sender_line=" · ".join(p for p in (organisation.name, organisation.street, place) if p),
        address=address,
        info=tuple(info),
        subject=placeholders.fill(subject, values),
        body=placeholders.fill(body, values),
        lines=tuple(
            (line.position, line.text, line.amount_cents) for line in receivable.lines.all()
        ),
        total_cents=receivable.amount_cents,
        open_cents=open_cents,
        due_date=_date(due_date),
        pay_url=url,
        girocode=epcqr.payload(transfer),
        bank=tuple(bank),
        footer=(
            " · ".join(p for p in (organisation.name, organisation.street, place) if p),
            f"Bankverbindung: {organisation.creditor_name} · {bank_line}",
        ),
        kassenzeichen=kz,
        arms=organisation.coat_of_arms.name if organisation.coat_of_arms else "",
    )


def _iban_groups(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def _refusal(receivable: Receivable, open_cents: int) -> str:
    kz = receivable.kassenzeichen_display
    if receivable.status == ReceivableStatus.CANCELLED:
        return f"Die Forderung {kz} ist storniert; sie bekommt keinen Bescheid."
    if receivable.status == ReceivableStatus.PAID or open_cents <= 0:
        return f"Die Forderung {kz} ist bereits bezahlt; sie bekommt keinen Bescheid."
    return ""


def _channel(receivable: Receivable, channel: str | None) -> str:
    if channel == DeliveryChannel.EMAIL and not receivable.debtor_email:
        raise NoticeRefused(
            f"Für die Forderung {receivable.kassenzeichen_display} ist keine E-Mail-Adresse "
            "bekannt; der Bescheid kann nur als Brief gehen.",
            field="channel",
        )
    if channel is not None:
        return DeliveryChannel(channel)
    return DeliveryChannel.EMAIL if receivable.debtor_email else DeliveryChannel.PRINT


@dataclass(slots=True)
class _Drawn:
    notice: Notice
    pages: list[Page]


def _prepare(
    *,
    receivable: Receivable,
    open_cents: int,
    sequence: int,
    kind: str,
    channel: str,
    actor: audit.Actor,
    templates: _Templates,
    now: dt.datetime,
    due_date: dt.date | None,
    fee_cents: int,
) -> _Drawn:
    today = now.astimezone(BERLIN).date()
    template = templates.get(kind, receivable.service)
    shown_due = due_date or max(receivable.due_date, today)
    content = build_content(
        receivable=receivable,
        open_cents=open_cents,
        kind=kind,
        due_date=shown_due,
        issued_on=today,
        template=template,
        fee_cents=fee_cents,
    )
    drawn = letter.pages(content)
    checksum = hashlib.sha256(letter.render(content, drawn)).hexdigest()
    notice = Notice(
        organisation_id=receivable.organisation_id,
        receivable=receivable,
        kind=kind,
        sequence=sequence,
        amount_cents=open_cents,
        fee_cents=fee_cents,
        due_date=shown_due,
        issued_at=now,
        issued_by=actor.label[:200],
        template=template,
        template_version=template.version if template else 0,
        channel=channel,
        recipient_email=receivable.debtor_email if channel == DeliveryChannel.EMAIL else "",
        content=content.to_json(),
        checksum=checksum,
    )
    return _Drawn(notice, drawn)


def _after_insert(notice: Notice, *, actor: audit.Actor) -> None:
    audit.record(
        actor=actor,
        action="notice.issued",
        obj=notice,
        organisation_id=notice.organisation_id,
        after={
            "receivable": notice.receivable_id,
            "kind": notice.kind,
            "sequence": notice.sequence,
            "amount_cents": notice.amount_cents,
            "channel": notice.channel,
            "printed": notice.delivered_at is not None,
            "checksum": notice.checksum,
        },
    )
    if notice.channel == DeliveryChannel.EMAIL:
        from rathauskasse.receivables import tasks  # noqa: PLC0415 - tasks import this module

        enqueue(tasks.send_notice, notice.pk)


def _next_sequences(receivable_ids: Sequence[int]) -> dict[int, int]:
    last = dict(
        Notice.objects.filter(receivable_id__in=receivable_ids)
        .values("receivable_id")
        .annotate(last=Max("sequence"))
        .values_list("receivable_id", "last")
    )
    return {pk: last.get(pk, 0) + 1 for pk in receivable_ids}


@transaction.atomic
def issue_notice(
    *,
    actor: audit.Actor,
    receivable: Receivable,
    kind: str = NoticeKind.NOTICE,
    channel: str | None = None,
    due_date: dt.date | None = None,
    fee_cents: int = 0,
) -> Notice:
    """Issue one notice for `receivable`; by e-mail when the debtor gave an address, else a
    letter to print (`channel` "email" or "print" decides instead)."""
    locked = (
        Receivable.objects.select_for_update(of=("self",))
        .select_related("organisation", "department", "service")
        .get(pk=receivable.pk)
    )
    open_cents = receivable_selectors.open_amount(receivable=locked)
    refusal = _refusal(locked, open_cents)
    if refusal:
        raise NoticeRefused(refusal)
    drawn = _prepare(
        receivable=locked,
        open_cents=open_cents,
        sequence=_next_sequences([locked.pk])[locked.pk],
        kind=kind,
        channel=_channel(locked, channel),
        actor=actor,
        templates=_Templates(locked.organisation),
        now=clock.now(),
        due_date=due_date,
        fee_cents=fee_cents,
    )
    drawn.notice.save()
    _after_insert(drawn.notice, actor=actor)
    return drawn.notice


@transaction.atomic
def issue_batch(
    *,
    receivables: Iterable[Receivable | int],
    actor: audit.Actor,
    channel: str | None = None,
    output: BinaryIO | None = None,
    kind: str = NoticeKind.NOTICE,
) -> BatchResult:
    """Issue a notice for each receivable (all of one organisation) and write the letters that
    go by post into `output` as one PDF, in the order of the postal codes.

    `channel` None: e-mail where the debtor gave an address, post otherwise; "print": every
    letter goes into the print file. Without `output` the letters are marked for print and go
    into a later print file (`print_notices`). Paid and cancelled receivables are skipped and
    named in the result. All or nothing: on an error nothing is issued (the caller discards
    what was written to `output`). Memory stays flat: receivables are read, locked and drawn
    `CHUNK` at a time, and each letter goes to `output` as soon as it is drawn.
    """
    ids = list(dict.fromkeys(r if isinstance(r, int) else r.pk for r in receivables))
    keys: list[tuple[bool, str, bool, str, str, str, int]] = []
    organisation_ids: set[int] = set()
    for start in range(0, len(ids), 900):
        for pk, organisation_id, country, postcode, name, kz in Receivable.objects.filter(
            pk__in=ids[start : start + 900]
        ).values_list(
            "pk",
            "organisation_id",
            "debtor_country",
            "debtor_postcode",
            "debtor_name",
            "kassenzeichen",
        ):
            organisation_ids.add(organisation_id)
            keys.append(
                (*receivable_selectors.postal_order(country, postcode), name.casefold(), kz, pk)
            )
    if len(organisation_ids) > 1:
        raise ValidationFailed(
            {"receivables": "Ein Druckauftrag enthält nur Forderungen einer Organisation."}
        )
    if not keys:
        return BatchResult(notice_ids=[], emailed=0, printed=0, pages=0)
    keys.sort()
    organisation = Organisation.objects.get(pk=organisation_ids.pop())
    templates = _Templates(organisation)
    now = clock.now()
    print_file = (
        letter.PrintFile(
            output,
            title=f"Druckauftrag {TITLES[NoticeKind(kind)]} {now.astimezone(BERLIN):%d.%m.%Y}",
            author=organisation.name,
            arms=[organisation.coat_of_arms.name] if organisation.coat_of_arms else [],
        )
        if output is not None
        else None
    )
    notice_ids: list[int] = []
    skipped: list[tuple[str, str]] = []
    emailed = printed = 0
    for start in range(0, len(keys), CHUNK):
        chunk = [pk for *_, pk in keys[start : start + CHUNK]]
        # Locked in id order (no deadlock with a payment locking the same rows), drawn in the
        # order of the postal codes.
        list(
            Receivable.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values("pk")
        )
        loaded = {
            r.pk: r
            for r in Receivable.objects.filter(pk__in=chunk)
            .select_related("department", "service")
            .prefetch_related("lines")
        }
        for r in loaded.values():
            r.organisation = organisation  # one instance: its coat of arms is read once
        open_cents = receivable_selectors.open_amounts(
            organisation=organisation, receivable_ids=chunk
        )
        sequences = _next_sequences(chunk)
        drawn: list[_Drawn] = []
        for pk in chunk:
            receivable = loaded[pk]
            refusal = _refusal(receivable, open_cents[pk])
            if refusal:
                skipped.append((receivable.kassenzeichen_display, refusal))
                continue
            item = _prepare(
                receivable=receivable,
                open_cents=open_cents[pk],
                sequence=sequences[pk],
                kind=kind,
                channel=_channel(receivable, channel),
                actor=actor,
                templates=templates,
                now=now,
                due_date=None,
                fee_cents=0,
            )
            if item.notice.channel == DeliveryChannel.PRINT and print_file is not None:
                print_file.add(item.pages)
                item.notice.delivered_at = now
                printed += 1
            elif item.notice.channel == DeliveryChannel.EMAIL:
                emailed += 1
            item.pages = []
            drawn.append(item)
        created = Notice.objects.bulk_create([item.notice for item in drawn])
        for notice in created:
            _after_insert(notice, actor=actor)
            notice_ids.append(notice.pk)
    if print_file is not None:
        print_file.close()
    return BatchResult(
        notice_ids=notice_ids,
        emailed=emailed,
        printed=printed,
        pages=print_file.pages if print_file else 0,
        skipped=skipped,
    )


def content_of(notice: Notice) -> LetterContent:
    return LetterContent.from_json(notice.content)


def notice_pdf(notice: Notice) -> bytes:
    """The letter of a notice, drawn again from what it stored: the same bytes every time."""
    return letter.render(content_of(notice))


@transaction.atomic
def print_notices(*, notices: Iterable[Notice], output: BinaryIO, actor: audit.Actor) -> int:
    """One print file of notices already issued (in the order of the postal codes); marks the
    letters among them as delivered. Returns the number of letters."""
    found = sorted(
        notices,
        key=lambda n: (
            *receivable_selectors.postal_order(
                n.receivable.debtor_country, n.receivable.debtor_postcode
            ),
            n.receivable.debtor_name.casefold(),
            n.pk,
        ),
    )
    if not found:
        return 0
    if len({n.organisation_id for n in found}) > 1:
        raise ValidationFailed(
            {"notices": "Eine Druckdatei enthält nur Bescheide einer Organisation."}
        )
    contents = [content_of(n) for n in found]
    print_file = letter.PrintFile(
        output,
        title=f"Druckdatei {clock.now().astimezone(BERLIN):%d.%m.%Y}",
        author=contents[0].organisation,
        arms=[c.arms for c in contents if c.arms],
    )
    now = clock.now()
    for notice, content in zip(found, contents, strict=True):
        print_file.add(letter.pages(content))
        if notice.channel == DeliveryChannel.PRINT and notice.delivered_at is None:
            Notice.objects.filter(pk=notice.pk, delivered_at__isnull=True).update(delivered_at=now)
            notice.delivered_at = now
        audit.record(
            actor=actor,
            action="notice.printed",
            obj=notice,
            organisation_id=notice.organisation_id,
        )
    print_file.close()
    return len(found)


# --- e-mail -------------------------------------------------------------------------------------


def send_notice(*, notice: Notice) -> bool:
    """E-mail a notice with its PDF once; False when it went already or goes by post."""
    with transaction.atomic():
        locked = (
            Notice.objects.select_for_update(of=("self",))
            .select_related("receivable")
            .get(pk=notice.pk)
        )
        if locked.channel != DeliveryChannel.EMAIL or locked.delivered_at is not None:
            return False
        content = content_of(locked)
        message = EmailMessage(
            subject=f"{content.title}: {content.subject} (Kassenzeichen {content.kassenzeichen})",
            body=_mail_text(content),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[locked.recipient_email],
        )
        message.attach(locked.filename, letter.render(content), "application/pdf")
        # Sent under the lock: a failed send raises, nothing is marked, the task runs again;
        # two workers never send the same notice twice.
        message.send()
        locked.delivered_at = clock.now()
        Notice.objects.filter(pk=locked.pk).update(delivered_at=locked.delivered_at)
        audit.record(
            actor=audit.SYSTEM,
            action="notice.sent",
            obj=locked,
            organisation_id=locked.organisation_id,
            after={"to": locked.recipient_email},
        )
    return True


def _mail_text(content: LetterContent) -> str:
    return "\n".join(
        [
            *content.body.split("\n"),
            "",
            f"Zu zahlen: {Money(content.open_cents).format_de()} bis zum {content.due_date}",
            f"Kassenzeichen: {content.kassenzeichen}",
            "",
            f"Online bezahlen: {content.pay_url}",
            "",
            "Per Überweisung:",
            *[f"  {label}: {value}" for label, value in content.bank],
            "",
            f"Das Schreiben finden Sie im Anhang (PDF). – {content.organisation}",
        ]
    )
