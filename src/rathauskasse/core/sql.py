"""Plain INSERT, UPDATE and SELECT for the hot paths (confirming a payment, posting).

The ORM compiles every statement anew on every call; on the confirmation path that compiling
costs more than the database work itself. These helpers build the SQL for a model and a set of
columns once, cache it, and convert values exactly as the ORM does (`get_db_prep_save`), so the
rows they write are the rows `Model.objects.create` would write. They bypass `save()` and
signals: use them only for rows that are written once and only by services.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

Field = models.Field[Any, Any]


def _db() -> BaseDatabaseWrapper:
    # This thread's connection, looked up once per statement (each attribute access on the
    # `django.db.connection` proxy is a thread-local look-up of its own).
    return connections[DEFAULT_DB_ALIAS]


@cache
def _fields(model: type[models.Model], names: tuple[str, ...]) -> tuple[Field, ...]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return tuple(by_attname[name] for name in names)


def _quote(name: str) -> str:
    return _db().ops.quote_name(name)


def _values(db: BaseDatabaseWrapper, fields: Sequence[Field], row: Mapping[str, Any]) -> list[Any]:
    return [f.get_db_prep_save(row[f.attname], db) for f in fields]


def _conditions(
    db: BaseDatabaseWrapper, fields: Sequence[Field], where: Mapping[str, Any]
) -> list[Any]:
    return [f.get_db_prep_value(where[f.attname], db) for f in fields]


@cache
def _insert_sql(
    model: type[models.Model], names: tuple[str, ...], rows: int, *, returning: bool
) -> str:
    columns = ", ".join(_quote(f.column) for f in _fields(model, names))
    value_rows = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * rows)
    sql = f"INSERT INTO {_quote(model._meta.db_table)} ({columns}) VALUES {value_rows}"  # noqa: S608
    pk = model._meta.pk
    return f"{sql} RETURNING {_quote(pk.column)}" if returning and pk is not None else sql


def insert(model: type[models.Model], values: Mapping[str, Any]) -> int:
    """Insert one row (by attribute names, e.g. `payment_id`) and return its primary key."""
    db, names = _db(), tuple(values)
    params = _values(db, _fields(model, names), values)
    returning = db.features.can_return_columns_from_insert
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(model, names, 1, returning=returning), params)
        return int(cursor.fetchone()[0] if returning else cursor.lastrowid)


def insert_many(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all name the same columns, in one statement."""
    if not rows:
        return
    db, names = _db(), tuple(rows[0])
    fields = _fields(model, names)
    params = [value for row in rows for value in _values(db, fields, row)]
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(model, names, len(rows), returning=False), params)


def insert_returning(
    model: type[models.Model], rows: Sequence[Mapping[str, Any]], *, also: str = ""
) -> list[tuple[Any, ...]]:
    """Insert rows that all name the same columns, in one statement; returns (id, also) rows.

    `also` is an extra SQL expression evaluated per inserted row (written by the caller).
    """
    db, names = _db(), tuple(rows[0])
    fields = _fields(model, names)
    params = [value for row in rows for value in _values(db, fields, row)]
    statement = _insert_sql(model, names, len(rows), returning=True)
    if also:
        statement += f", {also}"
    with db.cursor() as cursor:
        cursor.execute(statement, params)
        return [tuple(row) for row in cursor.fetchall()]


@cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], where: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{_quote(f.column)} = %s" for f in _fields(model, names))
    conditions = " AND ".join(f"{_quote(f.column)} = %s" for f in _fields(model, where))
    return f"UPDATE {_quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608


def update(
    model: type[models.Model], *, where: Mapping[str, Any], values: Mapping[str, Any]
) -> int:
    """`UPDATE ... SET values WHERE column = value AND ...`; returns the number of rows changed."""
    db, names, conditions = _db(), tuple(values), tuple(where)
    params = _values(db, _fields(model, names), values) + _conditions(
        db, _fields(model, conditions), where
    )
    with db.cursor() as cursor:
        cursor.execute(_update_sql(model, names, conditions), params)
        return int(cursor.rowcount)


@cache
def _select_sql(model: type[models.Model], names: tuple[str, ...], where: tuple[str, ...]) -> str:
    columns = ", ".join(_quote(f.column) for f in _fields(model, names))
    conditions = " AND ".join(f"{_quote(f.column)} = %s" for f in _fields(model, where))
    return f"SELECT {columns} FROM {_quote(model._meta.db_table)} WHERE {conditions}"  # noqa: S608


def select(
    model: type[models.Model], columns: Sequence[str], *, where: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """`SELECT columns FROM table WHERE column = value AND ...`, as tuples of database values."""
    db, conditions = _db(), tuple(where)
    params = _conditions(db, _fields(model, conditions), where)
    with db.cursor() as cursor:
        cursor.execute(_select_sql(model, tuple(columns), conditions), params)
        return [tuple(row) for row in cursor.fetchall()]


def columns_of(model: type[models.Model], alias: str) -> str:
    """All concrete columns of `model` as `alias."column"`, in field order, for `instance`."""
    return ", ".join(f"{alias}.{_quote(f.column)}" for f in model._meta.concrete_fields)


@cache
def _converters(model: type[models.Model]) -> tuple[tuple[int, Any, tuple[Any, ...]], ...]:
    """(position, column expression, converters) of the fields whose values need converting."""
    db = _db()
    found = []
    for i, f in enumerate(model._meta.concrete_fields):
        col = f.get_col(model._meta.db_table)
        field: Any = f  # django-stubs lacks Field.get_db_converters
        converters = tuple(db.ops.get_db_converters(col) + field.get_db_converters(db))
        if converters:
            found.append((i, col, converters))
    return tuple(found)


def instance(model: type[models.Model], values: Sequence[Any]) -> Any:
    """The model instance of a row read with `columns_of`, its values converted as the ORM does
    (`from_db_value`), as if it came from a queryset."""
    db = _db()
    converted = list(values)
    for i, col, converters in _converters(model):
        for converter in converters:
            converted[i] = converter(converted[i], col, db)
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), converted)


@cache
def _attnames(model: type[models.Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


@cache
def _insert_with_children_sql(  # noqa: PLR0917 - a cache key, called in one place
    parent: type[models.Model],
    parent_names: tuple[str, ...],
    child: type[models.Model],
    link: str,
    child_names: tuple[str, ...],
    rows: int,
) -> str:
    db = _db()
    parent_columns = ", ".join(_quote(f.column) for f in _fields(parent, parent_names))
    parent_values = ", ".join(["%s"] * len(parent_names))
    child_fields = _fields(child, child_names)
    casts = ", ".join(f"CAST(%s AS {f.db_type(db)})" for f in child_fields)
    aliases = ", ".join(f"c{i}" for i in range(len(child_fields)))
    pk = _quote(parent._meta.pk.column)
    link_column = _quote(_fields(child, (link,))[0].column)
    return (
        f"WITH parent AS (INSERT INTO {_quote(parent._meta.db_table)} ({parent_columns}) "  # noqa: S608
        f"VALUES ({parent_values}) RETURNING {pk}) "
        f"INSERT INTO {_quote(child._meta.db_table)} "
        f"({link_column}, {', '.join(_quote(f.column) for f in child_fields)}) "
        f"SELECT parent.{pk}, {aliases} FROM parent, "
        f"(VALUES {', '.join([f'({casts})'] * rows)}) AS v({aliases}) "
        f"RETURNING {link_column}"
    )


def insert_with_children(
    parent: type[models.Model],
    values: Mapping[str, Any],
    *,
    child: type[models.Model],
    link: str,
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Insert a row and its child rows (linked by `link`, e.g. `entry_id`); return the row's key.

    On PostgreSQL both go in one statement, so the child rows arrive together with their parent.
    """
    db = _db()
    if db.vendor != "postgresql" or not rows:
        parent_id = insert(parent, values)
        insert_many(child, [{link: parent_id, **row} for row in rows])
        return parent_id
    parent_names, child_names = tuple(values), tuple(rows[0])
    child_fields = _fields(child, child_names)
    params = _values(db, _fields(parent, parent_names), values) + [
        value for row in rows for value in _values(db, child_fields, row)
    ]
    sql = _insert_with_children_sql(parent, parent_names, child, link, child_names, len(rows))
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


# --- bulk writes ---------------------------------------------------------------------------------
# For batches (an open-item import of 100,000 rows): ids are reserved first, so that every table's
# rows can be built in Python with their links, and each table is then written in one COPY on
# PostgreSQL. Values are plain Python values of the fields' types; only what the driver cannot
# take as it is (JSON; dates and times on SQLite) is converted, once per distinct value.


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` primary keys, ascending, for new rows of `model` that this transaction writes.

    PostgreSQL takes them from the table's sequence, so no other transaction ever gets them.
    SQLite has no sequence to draw from: the ids follow the highest the table has ever had, and
    the transaction's write lock (`BEGIN IMMEDIATE`, see settings) keeps other writers out until
    it commits; a writer that got in anyway makes the insert fail on the primary key, it never
    overwrites a row.
    """
    db = _db()
    if count <= 0:
        return []
    if not db.in_atomic_block:
        raise RuntimeError("reserve_ids needs the transaction that writes the rows")
    table, pk = model._meta.db_table, model._meta.pk
    assert pk is not None
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk.column, count],
            )
            return sorted(int(row[0]) for row in cursor.fetchall())
        if db.vendor != "sqlite":
            raise NotImplementedError(f"reserve_ids on {db.vendor}")
        cursor.execute(f"SELECT COALESCE(MAX({_quote(pk.column)}), 0) FROM {_quote(table)}")  # noqa: S608
        highest = int(cursor.fetchone()[0])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(highest, int(row[0]) if row else 0) + 1
    return list(range(start, start + count))


def _converter(db: BaseDatabaseWrapper, field: Field) -> Any:
    """How a Python value of `field` becomes what the driver takes; None when it takes it as is."""
    kind = field.get_internal_type()
    if kind == "JSONField":
        encoder = getattr(field, "encoder", None)
        return lambda value: None if value is None else json.dumps(value, cls=encoder)
    if kind in {"DateField", "DateTimeField"} and db.vendor != "postgresql":
        seen: dict[Any, Any] = {}

        def convert(value: Any) -> Any:
            if value not in seen:
                seen[value] = field.get_db_prep_save(value, db)
            return seen[value]

        return convert
    return None


#: psycopg's names of the binary COPY formats of the column types bulk writes use.
_BINARY_TYPES = {
    "AutoField": "int4",
    "BigAutoField": "int8",
    "BigIntegerField": "int8",
    "BooleanField": "bool",
    "CharField": "text",
    "DateField": "date",
    "DateTimeField": "timestamptz",
    "EmailField": "text",
    "IntegerField": "int4",
    "JSONField": "jsonb",
    "PositiveBigIntegerField": "int8",
    "PositiveIntegerField": "int4",
    "PositiveSmallIntegerField": "int2",
    "SlugField": "text",
    "SmallIntegerField": "int2",
    "TextField": "text",
}


def _binary_type(field: Field) -> str | None:
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    if target.get_internal_type() == "JSONField" and getattr(target, "encoder", None):
        return None  # psycopg would encode it without the field's encoder
    return _BINARY_TYPES.get(target.get_internal_type())


def copy_rows(
    model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Write rows (values in the order of the attribute names `names`); returns how many.

    On PostgreSQL all rows go in one `COPY` statement, so statement-level triggers see them
    together (the ledger's balance check sees every line of every entry at once); in the binary
    format when every column's type has one, which halves the client's work. Elsewhere they go
    through `executemany`. Like the other helpers here, this bypasses `save()` and signals.
    """
    db = _db()
    fields = _fields(model, tuple(names))
    binary = [_binary_type(f) for f in fields] if db.vendor == "postgresql" else []
    if binary and all(binary):
        return _copy_binary(db, model, fields, [t for t in binary if t], rows)
    converters = [(i, c) for i, f in enumerate(fields) if (c := _converter(db, f)) is not None]

    def prepared() -> Iterator[Sequence[Any]]:
        for row in rows:
            if converters:
                values = list(row)
                for i, convert in converters:
                    values[i] = convert(values[i])
                yield values
            else:
                yield row

    columns = ", ".join(_quote(f.column) for f in fields)
    table = _quote(model._meta.db_table)
    count = 0
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no COPY
            # Django's wrapper turns psycopg's errors into django.db's (IntegrityError, ...).
            with db.wrap_database_errors, raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in prepared():
                    copy.write_row(values)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(fields))
        batch = list(prepared())
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)  # noqa: S608
        return len(batch)


def _copy_binary(
    db: BaseDatabaseWrapper,
    model: type[models.Model],
    fields: Sequence[Field],
    types: list[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    columns = ", ".join(_quote(f.column) for f in fields)
    table = _quote(model._meta.db_table)
    count = 0
    with db.cursor() as cursor:
        raw = cursor.cursor
        statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
        with db.wrap_database_errors, raw.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                count += 1
    return count
