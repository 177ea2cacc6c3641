"""Creating, cancelling and settling receivables.

Invariants kept here:
- a receivable has at least one line; every line is positive and booked to an active budget line
  of the receivable's organisation; the receivable's amount is the sum of its lines;
- its Kassenzeichen is unique per organisation and valid in the organisation's scheme; generated
  running numbers are gap-free per organisation and year (the counter advances in the same
  transaction as the receivable, under a row lock);
- creating it posts "debit Receivables, credit Revenue per budget line" in the same transaction,
  so its open amount (the ledger balance of its open item) starts at its amount;
- `status` always agrees with the ledger: open while the balance is positive, paid when it is
  zero or less, cancelled only after a reversal of an unpaid receivable;
- a charge added later (a reminder fee) is a new line and a new posting of its own ("debit
  Receivables, credit Revenue"), and the receivable's amount grows by it; no posting is changed.

`create_receivables_bulk` (open-item imports) keeps every one of these for each receivable of a
batch, with the same rows and posting as `create_receivable`, one audit entry for the batch, and
writes it in a handful of statements; it takes given Kassenzeichen only (imported ones), never
the counter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F, Max

from rathauskasse.catalogue.models import Service
from rathauskasse.core import audit, clock, sql
from rathauskasse.core.errors import Conflict, DomainError, ValidationFailed
from rathauskasse.events import services as events
from rathauskasse.events.models import EventType
from rathauskasse.ledger import rules
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger import services as ledger
from rathauskasse.ledger.models import EntryKind, JournalEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables import signals
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.receivables.models import (
    KassenzeichenCounter,
    Receivable,
    ReceivableLine,
    ReceivableSource,
    ReceivableStatus,
    new_pay_token,
)

MAX_LINES = 99


class ReceivableNotCancellable(DomainError):
    code = "receivable_not_cancellable"
    status = 409


@dataclass(frozen=True, slots=True)
class LineInput:
    text: str
    amount_cents: int
    budget_line: BudgetLine
    booking_data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Debtor:
    name: str
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "DE"
    email: str = ""
    account: str = ""


def next_kassenzeichen(*, organisation: Organisation, year: int) -> str:
    """Take the next running number of `year` and build the Kassenzeichen (caller's transaction)."""
    KassenzeichenCounter.objects.bulk_create(
        [KassenzeichenCounter(organisation=organisation, year=year)], ignore_conflicts=True
    )
    counter = KassenzeichenCounter.objects.select_for_update().get(
        organisation=organisation, year=year
    )
    scheme = Scheme.of(organisation)
    while True:
        # A number given by hand or imported may already stand on a receivable: skip it.
        counter.last_number += 1
        candidate = scheme.build(year=year, number=counter.last_number)
        if not Receivable.objects.filter(
            organisation=organisation, kassenzeichen=candidate
        ).exists():
            break
    counter.save(update_fields=["last_number"])
    return candidate


def _check_lines(organisation: Organisation, lines: Sequence[LineInput]) -> None:
    errors: dict[str, str] = {}
    if not lines:
        errors["lines"] = "Eine Forderung braucht mindestens eine Position."
    if len(lines) > MAX_LINES:
        errors["lines"] = f"Eine Forderung hat höchstens {MAX_LINES} Positionen."
    for index, line in enumerate(lines):
        if type(line.amount_cents) is not int or line.amount_cents <= 0:
            errors[f"lines.{index}.amount_cents"] = "Der Betrag muss größer als 0 sein."
        if line.budget_line.organisation_id != organisation.pk:
            errors[f"lines.{index}.budget_line"] = (
                "Die Haushaltsstelle gehört nicht zu dieser Organisation."
            )
        elif not line.budget_line.is_active:
            errors[f"lines.{index}.budget_line"] = "Die Haushaltsstelle ist nicht mehr aktiv."
        if not line.text.strip():
            errors[f"lines.{index}.text"] = "Jede Position braucht einen Text."
    if errors:
        raise ValidationFailed(errors)


@transaction.atomic
def create_receivable(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    department: Department,
    lines: Sequence[LineInput],
    purpose: str,
    debtor: Debtor,
    source: ReceivableSource,
    due_date: dt.date | None = None,
    service: Service | None = None,
    kassenzeichen: str | None = None,
    source_reference: str = "",
    allows_overpayment: bool | None = None,
) -> Receivable:
    """Create a receivable with its lines and post it; generate the Kassenzeichen if not given."""
    _check_lines(organisation, lines)
    if department.organisation_id != organisation.pk:
        raise ValidationFailed({"department": "Das Amt gehört nicht zu dieser Organisation."})
    if not purpose.strip():
        raise ValidationFailed({"purpose": "Bitte nennen Sie den Zweck der Forderung."})
    if not debtor.name.strip():
        raise ValidationFailed(
            {"debtor.name": "Bitte nennen Sie den Namen des Zahlungspflichtigen."}
        )
    today = clock.today()
    if kassenzeichen is None:
        kassenzeichen = next_kassenzeichen(organisation=organisation, year=today.year)
    else:
        kassenzeichen = Scheme.of(organisation).validate(kassenzeichen)
        if Receivable.objects.filter(
            organisation=organisation, kassenzeichen=kassenzeichen
        ).exists():
            raise InvalidKassenzeichen(
                "Dieses Kassenzeichen ist bereits vergeben.", field="kassenzeichen"
            )
    now = clock.now()
    receivable = Receivable.objects.create(
        organisation=organisation,
        department=department,
        service=service,
        kassenzeichen=kassenzeichen,
        purpose=purpose.strip()[:140],
        amount_cents=sum(line.amount_cents for line in lines),
        due_date=due_date or today,
        source=source,
        source_reference=source_reference,
        allows_overpayment=(
            allows_overpayment
            if allows_overpayment is not None
            else bool(service and service.allows_overpayment)
        ),
        debtor_name=debtor.name.strip(),
        debtor_street=debtor.street,
        debtor_postcode=debtor.postcode,
        debtor_city=debtor.city,
        debtor_country=debtor.country,
        debtor_email=debtor.email,
        debtor_account=debtor.account,
        created_at=now,
        updated_at=now,
    )
    ReceivableLine.objects.bulk_create(
        [
            ReceivableLine(
                receivable=receivable,
                position=position,
                text=line.text.strip()[:200],
                amount_cents=line.amount_cents,
                budget_line=line.budget_line,
                booking_data=line.booking_data,
            )
            for position, line in enumerate(lines, start=1)
        ]
    )
    ledger.post(
        organisation_id=organisation.pk,
        kind=EntryKind.RECEIVABLE_CREATED,
        text=f"Sollstellung {kassenzeichen} {receivable.purpose}",
        lines=rules.receivable_created(
            open_item_id=receivable.pk,
            lines=[(line.budget_line.pk, line.amount_cents) for line in lines],
        ),
        idempotency_key=f"receivable:{receivable.pk}:created",
        reference=f"receivable:{receivable.pk}",
        actor=actor,
    )
    audit.record(
        actor=actor,
        action="receivable.created",
        obj=receivable,
        organisation_id=organisation.pk,
        after={
            "kassenzeichen": kassenzeichen,
            "amount_cents": receivable.amount_cents,
            "source": source,
            "lines": [[line.budget_line.code, line.amount_cents] for line in lines],
        },
    )
    return receivable


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Ascending ids as [first, last] ranges: [1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    ranges: list[list[int]] = []
    for pk in ids:
        if ranges and pk == ranges[-1][1] + 1:
            ranges[-1][1] = pk
        else:
            ranges.append([pk, pk])
    return ranges


@dataclass(frozen=True, slots=True)
class NewReceivable:
    """One receivable of a `create_receivables_bulk` batch: `create_receivable`'s arguments."""

    department: Department
    lines: Sequence[LineInput]
    purpose: str
    debtor: Debtor
    kassenzeichen: str
    due_date: dt.date | None = None
    source_reference: str = ""
    allows_overpayment: bool = False


_RECEIVABLE_COLUMNS = (
    "id",
    "organisation_id",
    "department_id",
    "service_id",
    "kassenzeichen",
    "purpose",
    "amount_cents",
    "due_date",
    "status",
    "source",
    "source_reference",
    "allows_overpayment",
    "debtor_name",
    "debtor_street",
    "debtor_postcode",
    "debtor_city",
    "debtor_country",
    "debtor_email",
    "debtor_account",
    "pay_token",
    "created_at",
    "updated_at",
    "paid_at",
)
_LINE_COLUMNS = (
    "receivable_id",
    "position",
    "text",
    "amount_cents",
    "budget_line_id",
    "booking_data",
)


def _check_batch(
    organisation: Organisation, receivables: Sequence[NewReceivable]
) -> tuple[list[str], dict[str, str]]:
    """The canonical Kassenzeichen of the batch, and every refusal keyed by `index.field`."""
    scheme = Scheme.of(organisation)
    errors: dict[str, str] = {}
    canonical: list[str] = []
    first_index: dict[str, int] = {}
    for index, new in enumerate(receivables):
        try:
            _check_lines(organisation, new.lines)
        except ValidationFailed as exc:
            errors.update({f"{index}.{key}": message for key, message in exc.errors.items()})
        if new.department.organisation_id != organisation.pk:
            errors[f"{index}.department"] = "Das Amt gehört nicht zu dieser Organisation."
        if not new.purpose.strip():
            errors[f"{index}.purpose"] = "Bitte nennen Sie den Zweck der Forderung."
        if not new.debtor.name.strip():
            errors[f"{index}.debtor.name"] = "Bitte nennen Sie den Namen des Zahlungspflichtigen."
        try:
            kassenzeichen = scheme.validate(new.kassenzeichen)
        except InvalidKassenzeichen as exc:
            errors[f"{index}.kassenzeichen"] = exc.message
            kassenzeichen = new.kassenzeichen
        else:
            earlier = first_index.setdefault(kassenzeichen, index)
            if earlier != index:
                errors[f"{index}.kassenzeichen"] = (
                    f"Dieses Kassenzeichen steht schon auf Forderung {earlier} des Stapels."
                )
        canonical.append(kassenzeichen)
    taken = receivable_selectors.taken_kassenzeichen(
        organisation=organisation, candidates=first_index
    )
    for kassenzeichen in taken:
        errors[f"{first_index[kassenzeichen]}.kassenzeichen"] = (
            "Dieses Kassenzeichen ist bereits vergeben."
        )
    return canonical, errors


@transaction.atomic
def create_receivables_bulk(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    receivables: Sequence[NewReceivable],
    source: ReceivableSource,
    audit_context: dict[str, object] | None = None,
) -> list[int]:
    """Create and post a batch of receivables with given Kassenzeichen; returns their ids.

    The ids ascend in the order of `receivables`. All or nothing: any refusal
    (`ValidationFailed`, keyed `<index>.<field>`) writes nothing. Each receivable gets what
    `create_receivable` gives it: its row and lines, and the entry "debit Receivables, credit
    Revenue per budget line" under `receivable:<id>:created`. The audit log gets one
    `receivable.created_in_bulk` entry for the batch, naming every receivable (its ids as ranges),
    the total and the sums per budget line, with `audit_context` (e.g. the import it came from);
    each receivable's own data stays on its row and its posting, which never change.
    Receivables, lines, entries and journal lines go in one statement per table (COPY on
    PostgreSQL), so the ledger's balance trigger checks the whole batch at once.
    """
    if not receivables:
        return []
    canonical, errors = _check_batch(organisation, receivables)
    if errors:
        raise ValidationFailed(errors)
    ids = sql.reserve_ids(Receivable, len(receivables))
    now, today = clock.now(), clock.today()
    purposes = [new.purpose.strip()[:140] for new in receivables]
    totals = [sum(line.amount_cents for line in new.lines) for new in receivables]
    sql.copy_rows(
        Receivable,
        _RECEIVABLE_COLUMNS,
        (
            (
                pk,
                organisation.pk,
                new.department.pk,
                None,
                kassenzeichen,
                purpose,
                total,
                new.due_date or today,
                ReceivableStatus.OPEN.value,
                str(source),
                new.source_reference,
                new.allows_overpayment,
                new.debtor.name.strip(),
                new.debtor.street,
                new.debtor.postcode,
                new.debtor.city,
                new.debtor.country,
                new.debtor.email,
                new.debtor.account,
                new_pay_token(),
                now,
                now,
                None,
            )
            for pk, new, kassenzeichen, purpose, total in zip(
                ids, receivables, canonical, purposes, totals, strict=True
            )
        ),
    )
    sql.copy_rows(
        ReceivableLine,
        _LINE_COLUMNS,
        (
            (
                pk,
                position,
                line.text.strip()[:200],
                line.amount_cents,
                line.budget_line.pk,
                line.booking_data,
            )
            for pk, new in zip(ids, receivables, strict=True)
            for position, line in enumerate(new.lines, start=1)
        ),
    )
    ledger.post_many(
        organisation_id=organisation.pk,
        entries=[
            ledger.NewEntry(
                kind=EntryKind.RECEIVABLE_CREATED,
                text=f"Sollstellung {kassenzeichen} {purpose}",
                lines=rules.receivable_created(
                    open_item_id=pk,
                    lines=[(line.budget_line.pk, line.amount_cents) for line in new.lines],
                ),
                idempotency_key=f"receivable:{pk}:created",
                reference=f"receivable:{pk}",
            )
            for pk, new, kassenzeichen, purpose in zip(
                ids, receivables, canonical, purposes, strict=True
            )
        ],
        actor=actor,
    )
    by_budget_line: dict[str, int] = {}
    for new in receivables:
        for line in new.lines:
            code = line.budget_line.code
            by_budget_line[code] = by_budget_line.get(code, 0) + line.amount_cents
    audit.record(
        actor=actor,
        action="receivable.created_in_bulk",
        object_type=Receivable._meta.label_lower,
        object_id=f"{ids[0]}-{ids[-1]}",
        organisation_id=organisation.pk,
        after={
            "count": len(ids),
            "amount_cents": sum(totals),
            "source": str(source),
            "receivable_ids": id_ranges(ids),
            "lines": [[code, cents] for code, cents in by_budget_line.items()],
            **(audit_context or {}),
        },
    )
    return ids


@transaction.atomic
def cancel_receivable(*, actor: audit.Actor, receivable: Receivable, reason: str) -> Receivable:
    """Cancel an unpaid receivable by reversing its creation entry (Storno)."""
    locked = Receivable.objects.select_for_update().get(pk=receivable.pk)
    if locked.status == ReceivableStatus.CANCELLED:
        return locked
    open_cents = ledger_selectors.open_item_balance(
        organisation_id=locked.organisation_id, open_item_id=locked.pk
    )
    if open_cents != locked.amount_cents:
        raise ReceivableNotCancellable(
            "Auf diese Forderung wurde bereits gezahlt; sie kann nicht storniert werden. "
            "Erstatten Sie zuerst die Zahlung."
        )
    if not reason.strip():
        raise ValidationFailed({"reason": "Bitte nennen Sie den Grund der Stornierung."})
    creation = JournalEntry.objects.get(
        organisation_id=locked.organisation_id, idempotency_key=f"receivable:{locked.pk}:created"
    )
    ledger.reverse(
        entry=creation, text=f"Storno {locked.kassenzeichen}: {reason}"[:200], actor=actor
    )
    before = locked.status
    locked.status = ReceivableStatus.CANCELLED
    locked.updated_at = clock.now()
    locked.save(update_fields=["status", "updated_at"])
    events.record(
        organisation_id=locked.organisation_id,
        type=EventType.RECEIVABLE_CANCELLED,
        data={"receivable": locked.pk, "status": ReceivableStatus.CANCELLED, "reason": reason},
    )
    audit.record(
        actor=actor,
        action="receivable.cancelled",
        obj=locked,
        organisation_id=locked.organisation_id,
        before={"status": before},
        after={"status": locked.status, "reason": reason},
    )
    return locked


@transaction.atomic
def add_charge(
    *,
    actor: audit.Actor,
    receivable: Receivable,
    line: LineInput,
    entry_kind: EntryKind,
    idempotency_key: str,
) -> ReceivableLine | None:
    """Add a line to an open receivable and post it; None when `idempotency_key` was posted.

    The caller holds the receivable's row lock. The receivable's amount becomes the sum of its
    lines again, and its open amount (the ledger balance) grows by the line.
    """
    if JournalEntry.objects.filter(
        organisation_id=receivable.organisation_id, idempotency_key=idempotency_key
    ).exists():
        return None
    if receivable.status != ReceivableStatus.OPEN:
        raise Conflict(f"Die Forderung {receivable.kassenzeichen} ist nicht mehr offen.")
    _check_lines(receivable.organisation, [line])
    position = (
        ReceivableLine.objects.filter(receivable=receivable).aggregate(Max("position"))[
            "position__max"
        ]
        or 0
    ) + 1
    added = ReceivableLine.objects.create(
        receivable=receivable,
        position=position,
        text=line.text.strip()[:200],
        amount_cents=line.amount_cents,
        budget_line=line.budget_line,
        booking_data=line.booking_data,
    )
    Receivable.objects.filter(pk=receivable.pk).update(
        amount_cents=F("amount_cents") + line.amount_cents, updated_at=clock.now()
    )
    receivable.refresh_from_db(fields=["amount_cents", "updated_at"])
    ledger.post(
        organisation_id=receivable.organisation_id,
        kind=entry_kind,
        text=f"{line.text} {receivable.kassenzeichen}"[:200],
        lines=rules.receivable_increased(
            open_item_id=receivable.pk,
            budget_line_id=line.budget_line.pk,
            cents=line.amount_cents,
        ),
        idempotency_key=idempotency_key,
        reference=f"receivable:{receivable.pk}",
        actor=actor,
    )
    sync_status(
        organisation_id=receivable.organisation_id, receivable_ids=[receivable.pk], locked=True
    )
    audit.record(
        actor=actor,
        action="receivable.charge_added",
        obj=receivable,
        organisation_id=receivable.organisation_id,
        after={
            "position": position,
            "text": added.text,
            "amount_cents": line.amount_cents,
            "budget_line": line.budget_line.code,
            "amount_cents_total": receivable.amount_cents,
        },
    )
    return added


def paid_event(receivable_id: int) -> tuple[EventType, dict[str, object]]:
    return EventType.RECEIVABLE_PAID, {"receivable": receivable_id, "status": ReceivableStatus.PAID}


def sync_status(
    *,
    organisation_id: int,
    receivable_ids: Iterable[int],
    locked: bool = False,
    record_events: bool = True,
) -> list[int]:
    """Bring `status` in line with the ledger after a posting (inside the posting's transaction).

    Open while the ledger balance of the receivable is positive, paid otherwise; a cancelled
    receivable keeps its status whatever comes in afterwards. One statement, because it runs on
    every payment; the balance is `ledger.selectors.open_item_balance` as SQL. Only rows whose
    status changes are written; those that became paid are announced (`receivables_paid`).
    `locked=True`: the caller has locked the receivables in this transaction already.
    `record_events=False`: the caller records the `receivable.paid` events itself (with its own,
    in one statement). Returns the ids that became paid.
    """
    ids = list(receivable_ids)
    if not ids:
        return []
    table = connection.ops.quote_name(Receivable._meta.db_table)
    id_params = ", ".join(["%s"] * len(ids))
    # The balance is computed once per row, in the derived table; rows already right are skipped.
    balance = ledger_selectors.open_item_balance_sql("r.id")
    now = Receivable._meta.get_field("updated_at").get_db_prep_save(clock.now(), connection)
    with connection.cursor() as cursor:
        if connection.features.has_select_for_update and not locked:
            # Lock first, in id order: a payment or cancellation of the same receivables that is
            # still running finishes before the balance below is read, so it counts.
            cursor.execute(
                f"SELECT id FROM {table} WHERE id IN ({id_params}) ORDER BY id FOR UPDATE",  # noqa: S608
                ids,
            )
        cursor.execute(
            f"UPDATE {table} SET status = n.target, updated_at = %s, "  # noqa: S608 - names are ours
            f"paid_at = CASE WHEN n.target = %s THEN %s ELSE NULL END "
            f"FROM (SELECT r.id AS id, CASE WHEN ({balance}) > 0 THEN %s ELSE %s END AS target "
            f"FROM {table} r WHERE r.organisation_id = %s AND r.id IN ({id_params}) "
            f"AND r.status <> %s) n "
            f"WHERE {table}.id = n.id AND {table}.status <> n.target AND {table}.status <> %s "
            f"RETURNING {table}.id, {table}.status, {table}.source",
            [
                now,
                ReceivableStatus.PAID,
                now,
                ReceivableStatus.OPEN,
                ReceivableStatus.PAID,
                organisation_id,
                *ids,
                ReceivableStatus.CANCELLED,
                ReceivableStatus.CANCELLED,
            ],
        )
        changed = cursor.fetchall()
    paid = [(pk, source) for pk, status, source in changed if status == ReceivableStatus.PAID]
    if record_events:
        events.record_many(
            organisation_id=organisation_id,
            events=[paid_event(pk) for pk, _ in paid],
        )
    if paid:
        signals.receivables_paid.send(
            sender=Receivable,
            organisation_id=organisation_id,
            receivable_ids=[pk for pk, _ in paid],
            sources=dict(paid),
        )
    return [pk for pk, _ in paid]


def ensure_payable(receivable: Receivable, organisation: Organisation) -> None:
    """Refuse a receivable that cannot take a payment now."""
    if receivable.organisation_id != organisation.pk:
        raise Conflict("Diese Forderung gehört nicht zu dieser Organisation.", field="receivables")
    if receivable.status == ReceivableStatus.CANCELLED:
        raise Conflict(
            f"Die Forderung {receivable.kassenzeichen} ist storniert "
            "und kann nicht bezahlt werden.",
            field="receivables",
        )
    if receivable.status == ReceivableStatus.PAID and not receivable.allows_overpayment:
        raise Conflict(
            f"Die Forderung {receivable.kassenzeichen} ist bereits bezahlt.", field="receivables"
        )
