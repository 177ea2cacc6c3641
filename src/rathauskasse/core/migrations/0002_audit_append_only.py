from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

forward, backward = run_on_postgres(
    FORBID_CHANGE_FUNCTION + append_only_sql("core_auditentry"),
    "DROP TRIGGER IF EXISTS core_auditentry_append_only ON core_auditentry;",
)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
