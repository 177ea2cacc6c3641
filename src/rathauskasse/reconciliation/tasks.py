"""Background work of the statement import."""

from __future__ import annotations

from django_tasks import task

from rathauskasse.reconciliation import services


@task()
def import_statement_file(file_id: int) -> str:
    """Import an uploaded statement file; a second run of the same task does nothing."""
    result = services.import_upload(file_id=file_id)
    return "not queued" if result is None else str(result.outcome)
