"""The cash office's clearing queue (Klärfälle): what can be done with a line, and its rules.

Services of the queue; reads are in `selectors`. Invariants kept here:
- money moves only by new postings: an assignment is "debit Suspense, credit Receivables", its
  undoing the reverse; the line's own booking from the import is never changed;
- a line's money is always wholly accounted for: what its allocations give to receivables plus
  what it holds in suspense (`suspense_left`) is its amount; an assignment must use exactly what
  is left in suspense (several receivables may share it), never more, and never more than a
  receivable's open amount;
- one action at a time per line: the line's row is locked first, then its receivables in id order
  (as payments and imports lock them), so two clerks cannot assign the same money twice;
- every action is a `ClearingAction` (the history the detail page shows) and an audit entry, in
  the same transaction; receivable statuses follow the ledger (`sync_status`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from rathauskasse.core import audit, clock
from rathauskasse.core.errors import DomainError, ValidationFailed
from rathauskasse.core.money import Money
from rathauskasse.ledger import rules
from rathauskasse.ledger import services as ledger
from rathauskasse.ledger.models import EntryKind
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.reconciliation.models import (
    ActionKind,
    ClearingAction,
    ClearingStatus,
    LineAllocation,
    StatementLine,
)

#: Where money can still be assigned from suspense.
ASSIGNABLE = (
    ClearingStatus.OPEN,
    ClearingStatus.REVIEW,
    ClearingStatus.HELD,
    ClearingStatus.REFUND,
)
#: Where money held in suspense may be left there on purpose, or marked for refund.
HOLDABLE = (ClearingStatus.OPEN, ClearingStatus.REVIEW, ClearingStatus.REFUND)
REFUNDABLE = (ClearingStatus.OPEN, ClearingStatus.REVIEW, ClearingStatus.HELD)
MAX_COMMENT = 2000


@dataclass(frozen=True, slots=True)
class Steps:
    """Which of the queue's steps a line allows now (what the line's page offers)."""

    assign: bool
    hold: bool
    refund: bool
    review: bool


def steps(line: StatementLine, left: int) -> Steps:
    """The steps `line` allows, with `left` = `suspense_left(line)`; the services check the same."""
    status = line.clearing_status
    money = left > 0
    return Steps(
        assign=money and status in ASSIGNABLE,
        hold=money and status in HOLDABLE,
        refund=money and status in REFUNDABLE,
        review=status == ClearingStatus.REVIEW and not money,
    )


class ClearingRefused(DomainError):
    code = "clearing_refused"
    status = 409


@dataclass(frozen=True, slots=True)
class Share:
    """Part of a line's money for one receivable, as the clerk typed it."""

    kassenzeichen: str
    amount_cents: int


def suspense_left(line: StatementLine) -> int:
    """What of the line's money waits in suspense now: its suspense part at import, less what
    the cash office assigned since, plus what it took back (the import's own allocations carry
    the line's journal entry; later ones carry their action's)."""
    moved = (
        LineAllocation.objects.filter(line=line)
        .exclude(journal_entry_id=line.journal_entry_id)
        .aggregate(total=Sum("amount_cents"))["total"]
    )
    return line.suspense_cents - (moved or 0)


def _locked(organisation: Organisation, line_id: int) -> StatementLine:
    try:
        return StatementLine.objects.select_for_update().get(pk=line_id, organisation=organisation)
    except StatementLine.DoesNotExist:
        raise ClearingRefused("Diese Kontoauszugszeile gibt es nicht.") from None


def _record(
    line: StatementLine,
    *,
    kind: ActionKind,
    actor: audit.Actor,
    status: ClearingStatus,
    comment: str = "",
    journal_entry_id: int | None = None,
    undoes: ClearingAction | None = None,
    refund_iban: str = "",
    refund_name: str = "",
    details: dict[str, object] | None = None,
) -> ClearingAction:
    before = line.clearing_status
    if status != before:
        StatementLine.objects.filter(pk=line.pk).update(clearing_status=status)
        line.clearing_status = status
    action = ClearingAction.objects.create(
        line=line,
        kind=kind,
        comment=comment,
        status_after=status,
        journal_entry_id=journal_entry_id,
        undoes=undoes,
        refund_iban=refund_iban,
        refund_name=refund_name,
        actor_label=actor.label,
        created_at=clock.now(),
    )
    audit.record(
        actor=actor,
        action=f"statement_line.{kind}",
        obj=line,
        organisation_id=line.organisation_id,
        before={"clearing_status": before},
        after={"clearing_status": status, "comment": comment, **(details or {})},
    )
    return action


def _comment(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed({"comment": f"Ein Kommentar hat höchstens {MAX_COMMENT} Zeichen."})
    return text


@transaction.atomic
def assign(
    *,
    organisation: Organisation,
    line_id: int,
    shares: Sequence[Share],
    actor: audit.Actor,
    comment: str = "",
) -> ClearingAction:
    """Assign what the line holds in suspense to one or several receivables; all of it."""
    line = _locked(organisation, line_id)
    if line.clearing_status not in ASSIGNABLE:
        raise ClearingRefused("Diese Zeile ist geklärt; heben Sie zuerst ihre Zuordnung auf.")
    left = suspense_left(line)
    if left <= 0:
        raise ClearingRefused("Von dieser Zeile ist kein Geld mehr im Verwahrgeld.")
    comment = _comment(comment)
    scheme = Scheme.of(organisation)
    errors: dict[str, str] = {}
    wanted: dict[str, int] = {}  # canonical Kassenzeichen -> cents, in the order typed
    row_of: dict[str, int] = {}  # ... -> the form row it came from, for the error messages
    for index, share in enumerate(shares):
        if not share.kassenzeichen.strip():
            continue
        try:
            kz = scheme.validate(share.kassenzeichen)
        except InvalidKassenzeichen:
            kz = scheme.normalise(share.kassenzeichen)  # imported ones need not fit the scheme
        if kz in wanted:
            errors[f"{index}.kassenzeichen"] = "Dieses Kassenzeichen steht schon in einer Zeile."
        elif share.amount_cents <= 0:
            errors[f"{index}.amount"] = "Bitte geben Sie einen Betrag über 0 € ein."
        else:
            wanted[kz], row_of[kz] = share.amount_cents, index
    if not wanted and not errors:
        errors["0.kassenzeichen"] = "Bitte nennen Sie mindestens ein Kassenzeichen."
    items = receivable_selectors.open_items(
        organisation=organisation, kassenzeichen=wanted, lock=True
    )
    for kz, cents in wanted.items():
        index = row_of[kz]
        item = items.get(kz)
        if item is None:
            errors[f"{index}.kassenzeichen"] = "Zu diesem Kassenzeichen gibt es keine Forderung."
        elif item.status == "cancelled":
            errors[f"{index}.kassenzeichen"] = "Diese Forderung ist storniert."
        elif cents > item.open_cents:
            errors[f"{index}.amount"] = (
                f"Offen sind nur {Money(max(item.open_cents, 0)).format_de()}."
            )
    total = sum(wanted.values())
    if not errors and total != left:
        errors["total"] = (
            f"Die Beträge ergeben {Money(total).format_de()}; zuzuordnen sind genau "
            f"{Money(left).format_de()}."
        )
    if errors:
        raise ValidationFailed(errors)
    allocations = [(items[kz].receivable_id, cents) for kz, cents in wanted.items()]
    entry = ledger.post(
        organisation_id=organisation.pk,
        kind=EntryKind.BANK_STATEMENT,
        text=f"Klärung: {', '.join(scheme.display(kz) for kz in wanted)}"[:200],
        lines=rules.suspense_assigned(allocations=allocations),
        # Under the line's lock the number of its actions so far names this one uniquely.
        idempotency_key=f"statement-line:{line.pk}:assigned:{line.actions.count() + 1}",
        reference=f"statement-line:{line.pk}",
        actor=actor,
        booking_date=clock.today(),
        assume_new=True,
    )
    LineAllocation.objects.bulk_create(
        LineAllocation(line=line, receivable_id=rid, amount_cents=cents, journal_entry=entry)
        for rid, cents in allocations
    )
    receivable_services.sync_status(
        organisation_id=organisation.pk,
        receivable_ids=[rid for rid, _ in allocations],
        locked=True,
    )
    return _record(
        line,
        kind=ActionKind.ASSIGNED,
        actor=actor,
        status=ClearingStatus.CLEARED,
        comment=comment,
        journal_entry_id=entry.pk,
        details={"allocations": dict(wanted)},
    )


@transaction.atomic
def undo(
    *,
    organisation: Organisation,
    line_id: int,
    actor: audit.Actor,
    comment: str,
    action_id: int | None = None,
) -> ClearingAction:
    """Take back an assignment (`action_id`), or the import's own booking to receivables: the
    receivables are owed again, the money waits in suspense. A reason is required."""
    line = _locked(organisation, line_id)
    comment = _comment(comment)
    if not comment:
        raise ValidationFailed({"comment": "Bitte begründen Sie, warum die Zuordnung falsch ist."})
    undone: ClearingAction | None = None
    if action_id is None:
        if line.reverses_id is not None:
            raise ClearingRefused(
                "Die Rückbuchung einer Lastschrift kann hier nicht aufgehoben werden."
            )
        entry_id = line.journal_entry_id
        if line.actions.filter(kind=ActionKind.UNDONE, undoes__isnull=True).exists():
            raise ClearingRefused("Diese Zuordnung ist bereits aufgehoben.")
    else:
        undone = line.actions.filter(pk=action_id, kind=ActionKind.ASSIGNED).first()
        if undone is None:
            raise ClearingRefused("Diese Zuordnung gibt es nicht.")
        if undone.undone_by.exists():
            raise ClearingRefused("Diese Zuordnung ist bereits aufgehoben.")
        entry_id = undone.journal_entry_id
    given = list(
        LineAllocation.objects.filter(line=line, journal_entry_id=entry_id, amount_cents__gt=0)
        .order_by("receivable_id")
        .values_list("receivable_id", "amount_cents")
    )
    if entry_id is None or not given:
        raise ClearingRefused("Diese Zeile ist keiner Forderung zugeordnet.")
    entry = ledger.post(
        organisation_id=organisation.pk,
        kind=EntryKind.BANK_STATEMENT,
        text=f"Klärung: Zuordnung aufgehoben ({comment})"[:200],
        lines=rules.assignment_undone(allocations=given),
        idempotency_key=f"statement-line:{line.pk}:undone:{entry_id}",
        reference=f"statement-line:{line.pk}",
        actor=actor,
        booking_date=clock.today(),
    )
    LineAllocation.objects.bulk_create(
        LineAllocation(line=line, receivable_id=rid, amount_cents=-cents, journal_entry=entry)
        for rid, cents in given
    )
    receivable_services.sync_status(
        organisation_id=organisation.pk, receivable_ids=[rid for rid, _ in given]
    )
    return _record(
        line,
        kind=ActionKind.UNDONE,
        actor=actor,
        status=ClearingStatus.OPEN,
        comment=comment,
        journal_entry_id=entry.pk,
        undoes=undone,
        details={"taken_back": dict(given)},
    )


@transaction.atomic
def hold(
    *, organisation: Organisation, line_id: int, actor: audit.Actor, comment: str
) -> ClearingAction:
    """Leave the money in suspense on purpose (e.g. the notice it belongs to is not issued yet)."""
    line = _locked(organisation, line_id)
    comment = _comment(comment)
    if not comment:
        raise ValidationFailed({"comment": "Bitte schreiben Sie dazu, worauf gewartet wird."})
    if line.clearing_status not in HOLDABLE:
        raise ClearingRefused("Diese Zeile kann nicht ins Verwahrgeld gebucht werden.")
    if suspense_left(line) <= 0:
        raise ClearingRefused("Von dieser Zeile ist kein Geld im Verwahrgeld.")
    return _record(
        line, kind=ActionKind.HELD, actor=actor, status=ClearingStatus.HELD, comment=comment
    )


@transaction.atomic
def mark_for_refund(
    *,
    organisation: Organisation,
    line_id: int,
    actor: audit.Actor,
    iban: str,
    name: str,
    comment: str = "",
) -> ClearingAction:
    """Mark what the line holds in suspense for a transfer back to the payer."""
    line = _locked(organisation, line_id)
    comment = _comment(comment)
    errors: dict[str, str] = {}
    try:
        compact = str(IBAN(iban.strip()).compact) if iban.strip() else ""
    except SchwiftyException:
        compact = ""
        errors["iban"] = "Diese IBAN ist nicht gültig (Prüfziffer oder Länge)."
    if not compact and "iban" not in errors:
        errors["iban"] = "Bitte geben Sie die IBAN ein, auf die zurückgezahlt wird."
    name = name.strip()
    if not name:
        errors["name"] = "Bitte geben Sie den Namen des Empfängers ein."
    elif len(name) > 70:
        errors["name"] = "Ein Name in einer Überweisung hat höchstens 70 Zeichen."
    if errors:
        raise ValidationFailed(errors)
    if line.clearing_status not in REFUNDABLE:
        raise ClearingRefused("Diese Zeile kann nicht zur Rückzahlung vorgemerkt werden.")
    left = suspense_left(line)
    if left <= 0:
        raise ClearingRefused("Von dieser Zeile ist kein Geld im Verwahrgeld.")
    return _record(
        line,
        kind=ActionKind.REFUND_MARKED,
        actor=actor,
        status=ClearingStatus.REFUND,
        comment=comment,
        refund_iban=compact,
        refund_name=name,
        details={"refund_cents": left, "iban": compact, "name": name},
    )


@transaction.atomic
def review(
    *, organisation: Organisation, line_id: int, actor: audit.Actor, comment: str = ""
) -> ClearingAction:
    """Confirm an automatic booking the matcher flagged (a partial payment, a return, ...)."""
    line = _locked(organisation, line_id)
    if line.clearing_status != ClearingStatus.REVIEW:
        raise ClearingRefused("Diese Zeile wartet nicht auf eine Prüfung.")
    if suspense_left(line) > 0:
        raise ClearingRefused(
            "Ein Teil des Geldes liegt noch im Verwahrgeld: ordnen Sie ihn zu, belassen Sie ihn "
            "dort oder merken Sie ihn zur Rückzahlung vor."
        )
    return _record(
        line,
        kind=ActionKind.REVIEWED,
        actor=actor,
        status=ClearingStatus.CLEARED,
        comment=_comment(comment),
    )


@transaction.atomic
def add_comment(
    *, organisation: Organisation, line_id: int, actor: audit.Actor, comment: str
) -> ClearingAction:
    line = _locked(organisation, line_id)
    comment = _comment(comment)
    if not comment:
        raise ValidationFailed({"comment": "Bitte schreiben Sie einen Kommentar."})
    return _record(
        line,
        kind=ActionKind.COMMENTED,
        actor=actor,
        status=ClearingStatus(line.clearing_status),
        comment=comment,
    )
