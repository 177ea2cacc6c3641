"""The configured task backend can schedule work for later, which payments rely on."""

from django.utils.module_loading import import_string

from rathauskasse.config import settings as project_settings


def test_the_project_task_backend_can_defer_tasks() -> None:
    backend = import_string(project_settings.TASKS["default"]["BACKEND"])
    assert backend.supports_defer
