"""PostgreSQL only: events are append-only in the database too."""

from django.db import migrations

from rathauskasse.core.postgres import FORBID_CHANGE_FUNCTION, append_only_sql, run_on_postgres

forward, backward = run_on_postgres(
    FORBID_CHANGE_FUNCTION + append_only_sql("events_event"),
    "DROP TRIGGER IF EXISTS events_event_append_only ON events_event;",
)


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
