from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "rathauskasse.api"
    label = "api"
    verbose_name = "Schnittstellen"

    def ready(self) -> None:
        from rathauskasse.api import webhooks  # noqa: PLC0415 - apps load first
        from rathauskasse.events.signals import event_recorded  # noqa: PLC0415

        event_recorded.connect(webhooks.on_event_recorded, dispatch_uid="api-webhooks")
