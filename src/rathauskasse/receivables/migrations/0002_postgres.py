"""PostgreSQL only: receivable rows leave room on their pages, so that the status change of
every payment can be a heap-only update (no index is touched)."""

from django.db import migrations

from rathauskasse.core.postgres import run_on_postgres

forward, backward = run_on_postgres(
    "ALTER TABLE receivables_receivable SET (fillfactor = 85);",
    "ALTER TABLE receivables_receivable RESET (fillfactor);",
)


class Migration(migrations.Migration):
    dependencies = [("receivables", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
