"""Reads of profiles, imports and exports, scoped by organisation."""

from __future__ import annotations

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from rathauskasse.core.errors import Conflict, NotFound
from rathauskasse.finance import exports
from rathauskasse.finance.models import (
    ExportBatch,
    ExportedLine,
    ExportProfile,
    OpenItemImport,
    OpenItemProfile,
)
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.ledger.models import EntryKind
from rathauskasse.organisations.models import BudgetLine, Organisation
from rathauskasse.payments import selectors as payment_selectors
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.models import Receivable, ReceivableLine


def profiles(*, organisation: Organisation) -> QuerySet[OpenItemProfile]:
    return OpenItemProfile.objects.filter(organisation=organisation).select_related(
        "organisation", "default_budget_line", "default_department"
    )


def find_profile(*, name: str, organisation: Organisation | None = None) -> OpenItemProfile:
    """The profile called `name`; without an organisation, the only one of that name."""
    found = OpenItemProfile.objects.filter(name=name).select_related(
        "organisation", "default_budget_line", "default_department"
    )
    if organisation is not None:
        found = found.filter(organisation=organisation)
    candidates = list(found[:2])
    if not candidates:
        where = f" bei {organisation.name}" if organisation is not None else ""
        raise NotFound(f"Ein Profil „{name}“ gibt es{where} nicht.")
    if len(candidates) > 1:
        raise Conflict(
            f"Mehrere Organisationen haben ein Profil „{name}“; bitte nennen Sie die Organisation."
        )
    return candidates[0]


def imports(*, organisation: Organisation) -> QuerySet[OpenItemImport]:
    return OpenItemImport.objects.filter(organisation=organisation)


def imported_receivables(*, record: OpenItemImport) -> QuerySet[Receivable]:
    """The receivables an import created, in postal-code order (the order of the print run)."""
    ranges = Q(pk__in=[])
    for first, last in record.receivable_ids:
        ranges |= Q(pk__gte=first, pk__lte=last)
    organisation = record.organisation
    return receivable_selectors.receivables(organisation=organisation).filter(ranges).order_by("pk")


# --- exports to the finance system ---------------------------------------------------------------

#: Records per round trip of the export query, and per chunk the writer encodes.
EXPORT_CHUNK = 10_000


def export_profiles(*, organisation: Organisation) -> QuerySet[ExportProfile]:
    return ExportProfile.objects.filter(organisation=organisation).select_related("organisation")


def find_export_profile(*, name: str, organisation: Organisation | None = None) -> ExportProfile:
    """The export profile called `name`; without an organisation, the only one of that name."""
    found = ExportProfile.objects.filter(name=name).select_related("organisation")
    if organisation is not None:
        found = found.filter(organisation=organisation)
    candidates = list(found[:2])
    if not candidates:
        where = f" bei {organisation.name}" if organisation is not None else ""
        raise NotFound(f"Ein Exportprofil „{name}“ gibt es{where} nicht.")
    if len(candidates) > 1:
        raise Conflict(
            f"Mehrere Organisationen haben ein Exportprofil „{name}“; bitte nennen Sie die "
            "Organisation."
        )
    return candidates[0]


def export_batches(*, organisation: Organisation) -> QuerySet[ExportBatch]:
    return ExportBatch.objects.filter(organisation=organisation).select_related("profile")


def _record_kind_sql() -> str:
    created = f"'{EntryKind.RECEIVABLE_CREATED.value}', '{EntryKind.REMINDER_FEE.value}'"
    return (
        f"CASE WHEN m.kind = '{EntryKind.PAYMENT_SUCCEEDED.value}' THEN 'payment' "
        f"WHEN m.kind = '{EntryKind.REFUND.value}' THEN 'refund' "
        f"WHEN m.kind IN ({created}) THEN 'receivable_created' "
        f"WHEN m.reversed_kind IN ({created}) THEN 'receivable_cancelled' "
        "ELSE 'reversal' END"
    )


def _classified_sql(organisation_id: int) -> tuple[str, list[Any]]:
    """The organisation's receivable movements, each with its record kind (`RECORD_KINDS`)."""
    movements, params = ledger_selectors.receivable_movements_sql(organisation_id=organisation_id)
    return f"SELECT m.*, {_record_kind_sql()} AS record_kind FROM ({movements}) m", params  # noqa: S608


def _quote(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def unexported_sql(
    *, organisation_id: int, profile_id: int, record_kinds: Sequence[str], until: dt.date
) -> tuple[str, list[Any]]:
    """SQL for the movements this profile has not exported yet (columns of `_classified_sql`)."""
    classified, params = _classified_sql(organisation_id)
    kinds = ", ".join(["%s"] * len(record_kinds)) or "NULL"
    sql = (
        f"SELECT c.* FROM ({classified}) c WHERE c.booking_date <= %s "  # noqa: S608
        f"AND c.record_kind IN ({kinds}) AND NOT EXISTS (SELECT 1 FROM {_quote(ExportedLine)} x "
        "WHERE x.profile_id = %s AND x.line_id = c.line_id)"
    )
    return sql, [*params, until, *record_kinds, profile_id]


#: Where each record field comes from, and which join (if any) it needs.
_RECORD_SQL: dict[str, tuple[str, str]] = {
    "line_id": ("c.line_id", ""),
    "entry_id": ("c.entry_id", ""),
    "amount_cents": ("c.amount_cents", ""),
    "booking_date": ("c.booking_date", ""),
    "record_kind": ("c.record_kind", ""),
    "booking_text": ("c.text", ""),
    "reference": ("c.reference", ""),
    "kassenzeichen": ("rc.kassenzeichen", "receivable"),
    "debtor_account": ("rc.debtor_account", "receivable"),
    "debtor_name": ("rc.debtor_name", "receivable"),
    "purpose": ("rc.purpose", "receivable"),
    "budget_line": ("bl.code", "budget_line"),
    "product": ("bl.product", "budget_line"),
    "gl_account": ("bl.account", "budget_line"),
    "cost_centre": ("bl.cost_centre", "budget_line"),
    "payment_method": ("p.method", "payment"),
    "provider": ("p.provider", "payment"),
}
#: Fields every record carries: the writer's totals read them.
_ALWAYS = frozenset({"line_id", "amount_cents", "booking_date", "record_kind"})


def needed_fields(spec: exports.Spec) -> frozenset[str]:
    """The record fields the profile's columns show (the others are read as NULL)."""
    fields = {exports.SOURCES[c.source].field for c in spec.columns if c.source in exports.SOURCES}
    return _ALWAYS | {name for name in fields if name}


def _records_sql(inner: str, fields: frozenset[str]) -> str:
    """The record columns (`exports.RECORD_FIELDS`) of the movements `inner` selects as `c`.

    Only what `fields` names is read, and only the joins it needs are made: a million records
    of four columns are cheaper to join, send and parse than a million of seventeen.
    """
    columns = ", ".join(
        _RECORD_SQL[name][0] if name in fields else "NULL" for name in exports.RECORD_FIELDS
    )
    joins = {_RECORD_SQL[name][1] for name in fields} - {""}
    sql = f"SELECT {columns} FROM ({inner}) c "  # noqa: S608
    if "receivable" in joins:
        sql += f"LEFT JOIN {_quote(Receivable)} rc ON rc.id = c.open_item_id "
    if "budget_line" in joins:
        sql += (
            f"LEFT JOIN {_quote(ReceivableLine)} rl ON rl.receivable_id = c.open_item_id "
            f"AND rl.position = 1 LEFT JOIN {_quote(BudgetLine)} bl ON bl.id = rl.budget_line_id "
        )
    if "payment" in joins:
        sql += f"LEFT JOIN {payment_selectors.posting_join_sql('p', 'c.reference')} "
    return sql + "ORDER BY c.line_id"


def _rows(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    date_at = exports.RECORD_FIELDS.index("booking_date")
    parse = connection.vendor != "postgresql"
    while True:
        rows = cursor.fetchmany(EXPORT_CHUNK)
        if not rows:
            return
        if parse:  # SQLite hands dates of a computed column back as text
            rows = [(*row[:date_at], _date(row[date_at]), *row[date_at + 1 :]) for row in rows]
        yield rows


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def preview_records(
    *, profile: ExportProfile, spec: exports.Spec, until: dt.date, limit: int = 10
) -> list[tuple[Any, ...]]:
    """The first records the next export of `profile` would write, marking nothing."""
    inner, params = unexported_sql(
        organisation_id=profile.organisation_id,
        profile_id=profile.pk or 0,
        record_kinds=spec.record_kinds,
        until=until,
    )
    with connection.cursor() as cursor:
        cursor.execute(_records_sql(inner, needed_fields(spec)) + f" LIMIT {int(limit)}", params)
        return [row for chunk in _rows(cursor) for row in chunk]


def batch_records(
    *,
    batch_id: int,
    profile: ExportProfile,
    spec: exports.Spec,
    first: int,
    last: int,
) -> Generator[list[tuple[Any, ...]]]:
    """The records a batch claimed, in line order, in chunks, from a server-side cursor."""
    classified, params = _classified_sql(profile.organisation_id)
    inner = (
        f"SELECT c.* FROM ({classified}) c JOIN {_quote(ExportedLine)} x "  # noqa: S608
        "ON x.line_id = c.line_id WHERE x.profile_id = %s AND x.batch_id = %s "
        "AND x.line_id BETWEEN %s AND %s"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The claimed lines are counted first, so that the records are read in one pass
            # (hash joins) rather than line by line; the cursor is read to its end, not only
            # its first rows, and sorting and hashing a batch in memory beats spilling it.
            cursor.execute(f"ANALYZE {_quote(ExportedLine)}")
            cursor.execute("SET LOCAL cursor_tuple_fraction = 1.0")
            cursor.execute("SET LOCAL work_mem = '64MB'")
    with connection.chunked_cursor() as cursor:
        cursor.execute(
            _records_sql(inner, needed_fields(spec)),
            [*params, profile.pk, batch_id, first, last],
        )
        yield from _read_ahead(_rows(cursor))


def _read_ahead(chunks: Iterator[list[tuple[Any, ...]]]) -> Iterator[list[tuple[Any, ...]]]:
    """The chunks, each fetched while the caller formats the one before.

    The database computes the next rows while Python writes the last ones (the driver lets go
    of the interpreter while it waits); at most two chunks wait, so memory stays flat.
    """
    done = object()
    waiting: queue.Queue[Any] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                waiting.put(chunk)
            waiting.put(done)
        except BaseException as exc:  # handed to the caller, who raises it
            waiting.put(exc)

    reader = threading.Thread(target=fetch, name="export-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            item = waiting.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # let a blocked put finish, then the reader sees `stop`
            with contextlib.suppress(queue.Empty):
                waiting.get(timeout=0.05)
        reader.join()
