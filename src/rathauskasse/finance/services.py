"""Open-item imports from the finance system, and the profiles that read their files.

Invariants kept here:
- a file is imported all or nothing: every row is checked (`openitems.read`; the Kassenzeichen
  against the scheme and the existing receivables by the bulk creation, before it writes), all in
  one transaction, and a file with any refusal leaves nothing at all: no receivable, posting,
  audit entry or import record;
- a file is imported at most once per organisation: its `OpenItemImport` is unique per
  organisation and SHA-256 of the bytes, and imports of the same bytes are serialised (an advisory
  lock on PostgreSQL, the write lock on SQLite), so the same file again, under any name and even
  at the same moment, creates nothing and says when it came;
- imported Kassenzeichen are kept: validated against the organisation's scheme (length, prefix,
  check digit), stored in the scheme's compact form as every receivable is, never replaced by a
  generated one; unique within the file and against the organisation's receivables;
- every receivable comes from `receivables.services.create_receivables_bulk`, so it has exactly
  the rows and the posting (debit Receivables, credit Revenue) of `create_receivable`; the audit
  log gets the batch's `receivable.created_in_bulk` entry and one `open_item_import.created`, both
  naming every receivable; they are created in postal-code order, so their ids ascend in the
  order of the print run;
- the record keeps the profile's settings as used: a later change of the profile changes no record;
- profiles are validated on every save and every change is audited;
- an import's print file holds one Zahlungsaufforderung per receivable of the import that is still
  open, in postal-code order: those without one get it issued (for print) first, the others are
  printed again as they were issued, so printing twice issues nothing new.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from rathauskasse.core import audit, clock, sql
from rathauskasse.core.errors import DomainError, ValidationFailed, full_clean_or_fail
from rathauskasse.core.money import Money
from rathauskasse.finance import exports, openitems, reconcile, selectors
from rathauskasse.finance.models import (
    ExportBatch,
    ExportedLine,
    ExportProfile,
    ExportProfileVersion,
    ExportTrigger,
    OpenItemImport,
    OpenItemProfile,
    export_file_path,
)
from rathauskasse.finance.openitems import RowError
from rathauskasse.organisations import selectors as organisation_selectors
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import notices
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.receivables.models import (
    DeliveryChannel,
    NoticeKind,
    ReceivableSource,
    ReceivableStatus,
)


class Outcome(enum.StrEnum):
    CREATED = "created"
    ALREADY_IMPORTED = "already_imported"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did. `receivable_ids` are in postal-code order (the print run's order)."""

    outcome: Outcome
    record: OpenItemImport | None = None
    receivable_ids: tuple[int, ...] = ()
    errors: tuple[RowError, ...] = ()
    #: All refusals; `errors` lists the first `openitems.MAX_LISTED_ERRORS` of them.
    error_count: int = 0


def postal_key(country: str, postcode: str, row: int) -> tuple[bool, str, bool, str, int]:
    """Order of the print run (`receivables.selectors.postal_order`); ties in file order."""
    return (*receivable_selectors.postal_order(country, postcode), row)


# --- profiles ----------------------------------------------------------------------------------


@transaction.atomic
def create_profile(
    *, actor: audit.Actor, organisation: Organisation, **fields: Any
) -> OpenItemProfile:
    profile = OpenItemProfile(organisation=organisation, **fields)
    full_clean_or_fail(profile)
    profile.save()
    audit.record(
        actor=actor,
        action="open_item_profile.created",
        obj=profile,
        organisation_id=organisation.pk,
        after=profile.snapshot(),
    )
    return profile


# --- imports -----------------------------------------------------------------------------------


def _previous(organisation: Organisation, checksum: str) -> OpenItemImport | None:
    return OpenItemImport.objects.filter(organisation=organisation, sha256=checksum).first()


def _already(record: OpenItemImport) -> ImportResult:
    return ImportResult(
        outcome=Outcome.ALREADY_IMPORTED,
        record=record,
        receivable_ids=tuple(record.receivable_id_list()),
    )


def _rejected(parsed: openitems.Parsed) -> ImportResult:
    errors = sorted(parsed.errors, key=lambda e: (e.row is not None, e.row or 0))
    return ImportResult(
        outcome=Outcome.REJECTED, errors=tuple(errors), error_count=parsed.error_count
    )


def _lookups(organisation: Organisation, profile: OpenItemProfile) -> openitems.Lookups:
    lines = {
        line.code: line
        for line in organisation_selectors.budget_lines(
            organisation=organisation, active_only=False
        )
    }
    departments = list(organisation_selectors.departments(organisation=organisation))
    codes: dict[str, list[Any]] = {}
    for department in departments:
        if department.code:
            codes.setdefault(department.code, []).append(department)
    return openitems.Lookups(
        budget_lines=lines,
        # A code two offices share names neither of them.
        departments_by_code={code: found[0] for code, found in codes.items() if len(found) == 1},
        departments_by_name={d.name.strip().casefold(): d for d in departments},
        default_budget_line=profile.default_budget_line,
        default_department=profile.default_department,
    )


def _refuse_taken(organisation: Organisation, scheme: Scheme, parsed: openitems.Parsed) -> None:
    taken = receivable_selectors.taken_kassenzeichen(
        organisation=organisation, candidates=parsed.rows_by_kassenzeichen
    )
    column = parsed.column_names.get("kassenzeichen", "Kassenzeichen")
    for kassenzeichen, (_, created_at) in taken.items():
        parsed.refuse(
            parsed.rows_by_kassenzeichen[kassenzeichen],
            column,
            f"Das Kassenzeichen {scheme.display(kassenzeichen)} ist bereits vergeben "
            f"(Forderung vom {created_at.astimezone(clock.BERLIN):%d.%m.%Y}).",
        )


def import_open_items(
    *,
    organisation: Organisation,
    profile: OpenItemProfile,
    data: bytes,
    filename: str,
    actor: audit.Actor,
) -> ImportResult:
    """Import a CSV file of open items: everything in one transaction, or nothing.

    Returns CREATED with the new receivables, ALREADY_IMPORTED (nothing written) for a file this
    organisation has imported before, or REJECTED (nothing written) with every refusal.
    """
    if profile.organisation_id != organisation.pk:
        raise ValidationFailed({"profile": "Dieses Profil gehört zu einer anderen Organisation."})
    full_clean_or_fail(profile)
    checksum = hashlib.sha256(data).hexdigest()
    previous = _previous(organisation, checksum)
    if previous is not None:
        return _already(previous)
    scheme = Scheme.of(organisation)
    lookups = _lookups(organisation, profile)
    today = clock.today()

    def report() -> openitems.Parsed:
        """Every refusal, Kassenzeichen included, for a file that is refused."""
        parsed = openitems.read(data, profile=profile, scheme=scheme, lookups=lookups, today=today)
        _refuse_taken(organisation, scheme, parsed)
        return parsed

    # Kassenzeichen are checked against the scheme and the existing receivables once, by the
    # bulk creation (it has to); only a refused file is read a second time, for its report.
    parsed = openitems.read(
        data,
        profile=profile,
        scheme=scheme,
        lookups=lookups,
        today=today,
        check_kassenzeichen=False,
    )
    if parsed.error_count:
        return _rejected(report())
    try:
        return _write(
            organisation=organisation,
            profile=profile,
            parsed=parsed,
            data=data,
            checksum=checksum,
            filename=filename,
            actor=actor,
        )
    except (IntegrityError, ValidationFailed):
        # A Kassenzeichen the scheme refuses or that is taken, also by another transaction that
        # committed after our checks (PostgreSQL; SQLite queues the writers), or the same file
        # at the same moment. Everything of ours was rolled back; say which.
        previous = _previous(organisation, checksum)
        if previous is not None:
            return _already(previous)
        full = report()
        if full.error_count:
            return _rejected(full)
        raise


def _serialise_same_file(organisation: Organisation, checksum: str) -> None:
    """Make a second import of the same file wait until this transaction ends (PostgreSQL).

    It then finds this one's record. SQLite needs nothing: its transactions take the write lock
    at BEGIN. Should two get past this anyway, the unique record refuses the second.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"open-item-import:{organisation.pk}:{checksum}"],
            )


@transaction.atomic
def _write(
    *,
    organisation: Organisation,
    profile: OpenItemProfile,
    parsed: openitems.Parsed,
    data: bytes,
    checksum: str,
    filename: str,
    actor: audit.Actor,
) -> ImportResult:
    _serialise_same_file(organisation, checksum)
    previous = _previous(organisation, checksum)
    if previous is not None:
        return _already(previous)
    # In postal-code order, so that the receivables' ids follow the print run.
    order = sorted(
        range(len(parsed.receivables)),
        key=lambda i: postal_key(
            parsed.receivables[i].debtor.country, parsed.receivables[i].debtor.postcode, i
        ),
    )
    receivables = [parsed.receivables[i] for i in order]
    total = sum(line.amount_cents for new in receivables for line in new.lines)
    ids = receivable_services.create_receivables_bulk(
        actor=actor,
        organisation=organisation,
        receivables=receivables,
        source=ReceivableSource.IMPORT,
        audit_context={"filename": filename[:255], "sha256": checksum},
    )
    ranges = receivable_services.id_ranges(ids)
    record = OpenItemImport.objects.create(
        organisation=organisation,
        profile=profile,
        profile_settings=profile.snapshot(),
        filename=filename[:255],
        sha256=checksum,
        size_bytes=len(data),
        row_count=len(receivables),
        total_cents=total,
        receivable_ids=ranges,
        actor_label=actor.label,
        created_at=clock.now(),
    )
    audit.record(
        actor=actor,
        action="open_item_import.created",
        obj=record,
        organisation_id=organisation.pk,
        after={
            "filename": record.filename,
            "sha256": checksum,
            "profile": profile.name,
            "row_count": len(receivables),
            "total_cents": total,
            "receivable_ids": ranges,
        },
    )
    return ImportResult(outcome=Outcome.CREATED, record=record, receivable_ids=tuple(ids))


@transaction.atomic
def print_import(*, record: OpenItemImport, actor: audit.Actor, output: BinaryIO) -> int:
    """Write the Zahlungsaufforderungen of an import's open receivables into `output` as one PDF.

    A receivable without one gets it issued now, for print; one that has it is printed again as
    it was issued (the amount it showed then). Paid and cancelled receivables are left out.
    Returns the number of letters in the file.
    """
    still_open = selectors.imported_receivables(record=record).filter(status=ReceivableStatus.OPEN)
    issued = receivable_selectors.notices(organisation=record.organisation).filter(
        kind=NoticeKind.NOTICE, receivable__in=still_open
    )
    without = still_open.exclude(pk__in=issued.values("receivable_id")).values_list("pk", flat=True)
    missing = list(without)
    if missing:
        notices.issue_batch(receivables=missing, actor=actor, channel=DeliveryChannel.PRINT)
    latest: dict[int, Any] = {}
    for notice in issued.order_by("receivable_id", "sequence"):
        latest[notice.receivable_id] = notice  # the last one issued wins
    letters = notices.print_notices(notices=latest.values(), output=output, actor=actor)
    audit.record(
        actor=actor,
        action="open_item_import.printed",
        obj=record,
        organisation_id=record.organisation_id,
        after={"letters": letters, "issued_now": len(missing)},
    )
    return letters


def describe(result: ImportResult) -> str:
    """One German sentence saying what an import did (the CLI's and the admin's summary)."""
    record = result.record
    if result.outcome == Outcome.REJECTED:
        return (
            f"Die Datei wurde abgelehnt; es wurde nichts angelegt. "
            f"{result.error_count} Fehler gefunden."
        )
    assert record is not None
    when = record.created_at.astimezone(clock.BERLIN)
    total = _euro(record.total_cents)
    if result.outcome == Outcome.ALREADY_IMPORTED:
        return (
            f"Diese Datei wurde bereits importiert am {when:%d.%m.%Y um %H:%M} Uhr "
            f"(„{record.filename}“, {record.row_count} Forderungen, Summe {total}); "
            "keine neuen Forderungen."
        )
    return f"{record.row_count} Forderungen angelegt (Summe {total})."


def _euro(cents: int) -> str:
    # A plain space: terminals and log files do not all show the no-break space.
    return Money(cents).format_de().replace("\u00a0", " ")


# --- exports to the finance system (issue 7) -----------------------------------------------------
# Invariants kept here:
# - every journal line on the receivables account goes out at most once per profile: the export
#   claims the lines it writes in `ExportedLine` (primary key: profile, line) in the same
#   transaction as its batch, and two exports of one profile are serialised by a lock on the
#   profile's row, so the second finds nothing new; a line that commits after an export's claim
#   (in any id order) is simply not claimed yet, and the next export takes it;
# - a batch is written whole or not at all: claim, file and batch record commit together; if
#   anything fails, the transaction rolls back and the stored file is deleted;
# - a batch is never changed (append-only, a trigger on PostgreSQL); its stored file is served
#   byte for byte on every download (`sha256` is checked); a correction is a later batch with
#   the reversal entries' lines;
# - a profile is checked on every save (`exports.check`: nothing lost, nothing garbled), and
#   every change of what the file looks like makes a new version; batches point to the version
#   they were written with.


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export did; no batch when there was nothing new (`records` is then 0)."""

    batch: ExportBatch | None
    records: int
    #: The file's bytes when there was nothing new: the header only, for `--output`.
    empty_file: bytes = b""


def record_version(*, actor: audit.Actor, profile: ExportProfile) -> ExportProfileVersion:
    """The version holding the profile's current settings: the latest, or a new one."""
    settings = profile.settings()
    latest: ExportProfileVersion | None = profile.versions.order_by("-number").first()
    if latest is not None and latest.settings == settings:
        return latest
    number = (latest.number if latest is not None else 0) + 1
    version = ExportProfileVersion.objects.create(
        profile=profile,
        number=number,
        settings=settings,
        created_at=clock.now(),
        actor_label=actor.label,
    )
    ExportProfile.objects.filter(pk=profile.pk).update(version=number)
    profile.version = number
    audit.record(
        actor=actor,
        action="export_profile.version_created",
        obj=profile,
        organisation_id=profile.organisation_id,
        before=latest.settings if latest is not None else None,
        after={"version": number, **settings},
    )
    return version


@transaction.atomic
def save_export_profile(*, actor: audit.Actor, profile: ExportProfile) -> ExportProfile:
    """Check and save a profile (new or changed); a change of its settings makes a new version."""
    full_clean_or_fail(profile)
    created = profile.pk is None
    profile.save()
    audit.record(
        actor=actor,
        action="export_profile.created" if created else "export_profile.changed",
        obj=profile,
        organisation_id=profile.organisation_id,
        after={"name": profile.name, "daily_at": str(profile.daily_at or "")},
    )
    record_version(actor=actor, profile=profile)
    from rathauskasse.finance import tasks  # noqa: PLC0415 - the tasks call these services

    tasks.schedule(profile)
    return profile


def create_export_profile(
    *, actor: audit.Actor, organisation: Organisation, **fields: Any
) -> ExportProfile:
    return save_export_profile(
        actor=actor, profile=ExportProfile(organisation=organisation, **fields)
    )


def preview_export(
    *, profile: ExportProfile, until: dt.date | None = None, limit: int = 10
) -> list[str]:
    """The first lines the next export would write (the profile as it is, saved or not).

    Marks nothing as exported; refuses settings that `exports.check` refuses.
    """
    spec = profile.spec()
    errors = exports.check(spec)
    if errors:
        raise ValidationFailed({k: " ".join(v) for k, v in errors.items()})
    rows = selectors.preview_records(
        profile=profile, spec=spec, until=until or clock.today(), limit=limit
    )
    return exports.Writer(spec).preview(rows)


def _claim(
    profile: ExportProfile, spec: exports.Spec, until: dt.date, batch_id: int
) -> tuple[int, int, int]:
    """Mark the profile's unexported lines as this batch's; (count, first id, last id)."""
    inner, params = selectors.unexported_sql(
        organisation_id=profile.organisation_id,
        profile_id=profile.pk,
        record_kinds=spec.record_kinds,
        until=until,
    )
    table = connection.ops.quote_name(ExportedLine._meta.db_table)
    insert = (
        f"INSERT INTO {table} (profile_id, line_id, batch_id) "  # noqa: S608
        f"SELECT %s, u.line_id, %s FROM ({inner}) u"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH claimed AS ({insert} RETURNING line_id) "  # noqa: S608
                "SELECT COUNT(*), MIN(line_id), MAX(line_id) FROM claimed",
                [profile.pk, batch_id, *params],
            )
        else:
            cursor.execute(insert, [profile.pk, batch_id, *params])
            cursor.execute(
                f"SELECT COUNT(*), MIN(line_id), MAX(line_id) FROM {table} "  # noqa: S608
                "WHERE profile_id = %s AND batch_id = %s",
                [profile.pk, batch_id],
            )
        count, first, last = cursor.fetchone()
    return int(count), int(first or 0), int(last or 0)


def export_bookings(
    *,
    profile: ExportProfile,
    actor: audit.Actor,
    trigger: ExportTrigger,
    until: dt.date | None = None,
) -> ExportResult:
    """Export every line of the profile's record kinds booked up to `until` and not yet exported.

    One batch with its stored file, or nothing at all (no batch, nothing marked) when there is
    nothing new or anything fails.
    """
    until = until or clock.today()
    stored: list[str] = []
    try:
        return _export(profile=profile, actor=actor, trigger=trigger, until=until, stored=stored)
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise


@transaction.atomic
def _export(
    *,
    profile: ExportProfile,
    actor: audit.Actor,
    trigger: ExportTrigger,
    until: dt.date,
    stored: list[str],
) -> ExportResult:
    # Serialises exports of this profile: the second waits here, then finds the lines claimed.
    locked = (
        ExportProfile.objects.select_for_update().select_related("organisation").get(pk=profile.pk)
    )
    full_clean_or_fail(locked)
    version = record_version(actor=actor, profile=locked)
    spec = version.spec()
    batch_id = sql.reserve_ids(ExportBatch, 1)[0]
    count, first, last = _claim(locked, spec, until, batch_id)
    if not count:
        return ExportResult(batch=None, records=0, empty_file=exports.Writer(spec).header())
    totals = exports.Totals()
    digest, size = hashlib.sha256(), 0
    records = selectors.batch_records(
        batch_id=batch_id, profile=locked, spec=spec, first=first, last=last
    )

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        for rows in records:
            totals.add(rows)
            yield rows

    # Closed here, also on a failure: the reader stops and the cursor closes before the
    # transaction rolls back, not whenever the garbage collector gets to them.
    with tempfile.TemporaryFile() as spool, contextlib.closing(records):
        for data, _ in exports.write(spec, chunks()):
            digest.update(data)
            size += len(data)
            spool.write(data)
        if totals.count != count or totals.first_date is None or totals.last_date is None:
            raise RuntimeError(f"export claimed {count} lines but wrote {totals.count}")
        spool.seek(0)
        previous = locked.batches.order_by("-number").values_list("number", flat=True).first()
        now = clock.now()
        batch = ExportBatch(
            pk=batch_id,
            organisation_id=locked.organisation_id,
            profile=locked,
            version=version,
            number=(previous or 0) + 1,
            trigger=trigger,
            until=until,
            period_from=totals.first_date,
            period_until=totals.last_date,
            record_count=count,
            debit_cents=totals.debit_cents,
            credit_cents=totals.credit_cents,
            net_cents=totals.net_cents,
            counts_by_kind=totals.by_kind,
            first_line_id=first,
            last_line_id=last,
            size_bytes=size,
            sha256=digest.hexdigest(),
            actor_label=actor.label,
            created_at=now,
        )
        batch.filename = spec.filename(
            number=batch.number, until=until, created=now.astimezone(clock.BERLIN)
        )[:255]
        name = default_storage.save(export_file_path(batch, batch.filename), File(spool))
        stored.append(name)
        batch.file.name = name
        batch.save(force_insert=True)
    audit.record(
        actor=actor,
        action="export_batch.created",
        obj=batch,
        organisation_id=locked.organisation_id,
        after={
            "profile": locked.name,
            "version": version.number,
            "number": batch.number,
            "records": count,
            "net_cents": batch.net_cents,
            "sha256": batch.sha256,
            "until": until.isoformat(),
        },
    )
    return ExportResult(batch=batch, records=count)


class ExportFileChanged(DomainError):
    code = "export_file_changed"
    status = 500


def open_batch_file(*, batch: ExportBatch) -> BinaryIO:
    """The batch's stored file, checked against its checksum before it is handed out."""
    digest = hashlib.sha256()
    with default_storage.open(batch.file.name, "rb") as stored:
        for block in iter(lambda: stored.read(1024 * 1024), b""):
            digest.update(block)
    if digest.hexdigest() != batch.sha256:
        raise ExportFileChanged(
            f"Die gespeicherte Datei des Exports Nr. {batch.number} stimmt nicht mehr mit ihrer "
            "Prüfsumme überein; sie wird nicht ausgegeben. Bitte verständigen Sie den Betrieb."
        )
    return cast(BinaryIO, default_storage.open(batch.file.name, "rb"))


# --- reconciliation of open items with the finance system's list ---------------------------------


def reconcile_open_items(
    *, organisation: Organisation, profile: OpenItemProfile, data: bytes
) -> reconcile.Report:
    """Compare the finance system's open-item list (a CSV read with `profile`) with ours."""
    if profile.organisation_id != organisation.pk:
        raise ValidationFailed({"profile": "Dieses Profil gehört zu einer anderen Organisation."})
    return reconcile.compare(organisation=organisation, profile=profile, data=data)
