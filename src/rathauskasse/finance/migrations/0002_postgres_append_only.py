"""On PostgreSQL the database refuses to change or delete an import record, as the application
does (`AppendOnlyModel`): it says what a file created, for as long as the receivables exist."""

from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

forward, backward = run_on_postgres(
    FORBID_CHANGE_FUNCTION + append_only_sql("finance_openitemimport"),
    "DROP TRIGGER IF EXISTS finance_openitemimport_append_only ON finance_openitemimport;",
)


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
