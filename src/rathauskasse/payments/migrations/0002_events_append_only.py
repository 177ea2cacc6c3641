from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

forward, backward = run_on_postgres(
    FORBID_CHANGE_FUNCTION + append_only_sql("payments_paymentevent"),
    "DROP TRIGGER IF EXISTS payments_paymentevent_append_only ON payments_paymentevent;",
)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
