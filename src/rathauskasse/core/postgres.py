"""SQL that only PostgreSQL runs: triggers that make the database itself refuse what the
application refuses first. Migrations call these through `RunPython`, so SQLite skips them.
"""

from __future__ import annotations

from typing import Any

FORBID_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION rk_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION rk_forbid_change();
"""


def run_on_postgres(sql: str, reverse_sql: str = "") -> tuple[Any, Any]:
    """A pair of RunPython callables that execute `sql` only on PostgreSQL."""

    def forward(_apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    def backward(_apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql" and reverse_sql:
            schema_editor.execute(reverse_sql, None)

    return forward, backward
