"""PostgreSQL only: payment events are append-only, and payment rows leave room on their pages
so that a status change can be a heap-only update (no index is touched)."""

from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

forward, backward = run_on_postgres(
    FORBID_CHANGE_FUNCTION
    + append_only_sql("payments_paymentevent")
    + "ALTER TABLE payments_payment SET (fillfactor = 85);",
    "DROP TRIGGER IF EXISTS payments_paymentevent_append_only ON payments_paymentevent;"
    "ALTER TABLE payments_payment RESET (fillfactor);",
)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
