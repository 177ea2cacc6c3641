"""Plain INSERT and UPDATE for the hot paths (confirming a payment, posting to the ledger).

The ORM compiles every statement anew on every call; on the confirmation path that compiling
costs more than the database work itself. These helpers build the SQL for a model and a set of
columns once, cache it, and convert values exactly as the ORM does (`get_db_prep_save`), so the
rows they write are the rows `Model.objects.create` would write. They bypass `save()` and
signals: use them only for rows that are written once and only by services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connection, models


@cache
def _fields(
    model: type[models.Model], names: tuple[str, ...]
) -> tuple[models.Field[Any, Any], ...]:
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return tuple(by_attname[name] for name in names)


@cache
def _insert_sql(
    model: type[models.Model], names: tuple[str, ...], rows: int, *, returning: bool
) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _fields(model, names))
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * rows)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {placeholders}"  # noqa: S608
    pk = model._meta.pk
    return f"{sql} RETURNING {quote(pk.column)}" if returning and pk is not None else sql


def _prepared(
    model: type[models.Model], names: tuple[str, ...], row: Mapping[str, Any]
) -> list[Any]:
    return [f.get_db_prep_save(row[f.attname], connection) for f in _fields(model, names)]


def insert(model: type[models.Model], values: Mapping[str, Any]) -> int:
    """Insert one row (by attribute names, e.g. `payment_id`) and return its primary key."""
    names = tuple(values)
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(
                _insert_sql(model, names, 1, returning=True), _prepared(model, names, values)
            )
            return int(cursor.fetchone()[0])
        cursor.execute(
            _insert_sql(model, names, 1, returning=False), _prepared(model, names, values)
        )
        return int(cursor.lastrowid)


def insert_many(model: type[models.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows that all name the same columns, in one statement."""
    if not rows:
        return
    names = tuple(rows[0])
    params = [value for row in rows for value in _prepared(model, names, row)]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, names, len(rows), returning=False), params)


@cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], where: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in _fields(model, names))
    conditions = " AND ".join(f"{quote(f.column)} = %s" for f in _fields(model, where))
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608


def update(
    model: type[models.Model], *, where: Mapping[str, Any], values: Mapping[str, Any]
) -> int:
    """`UPDATE ... SET values WHERE column = value AND ...`; returns the number of rows changed."""
    names, conditions = tuple(values), tuple(where)
    params = _prepared(model, names, values) + [
        f.get_db_prep_value(where[f.attname], connection) for f in _fields(model, conditions)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, names, conditions), params)
        return int(cursor.rowcount)


@cache
def _select_sql(model: type[models.Model], names: tuple[str, ...], where: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _fields(model, names))
    conditions = " AND ".join(f"{quote(f.column)} = %s" for f in _fields(model, where))
    return f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {conditions}"  # noqa: S608


def select(
    model: type[models.Model], columns: Sequence[str], *, where: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """`SELECT columns FROM table WHERE column = value AND ...`, as tuples of database values."""
    conditions = tuple(where)
    params = [f.get_db_prep_value(where[f.attname], connection) for f in _fields(model, conditions)]
    with connection.cursor() as cursor:
        cursor.execute(_select_sql(model, tuple(columns), conditions), params)
        return [tuple(row) for row in cursor.fetchall()]
