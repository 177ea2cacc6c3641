from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "rathauskasse.api"
    label = "api"
    verbose_name = "Schnittstellen"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save  # noqa: PLC0415

        from rathauskasse.api import webhooks  # noqa: PLC0415 - apps load first
        from rathauskasse.api.models import WebhookEndpoint  # noqa: PLC0415
        from rathauskasse.events.services import register_subscriber_probe  # noqa: PLC0415
        from rathauskasse.events.signals import event_recorded  # noqa: PLC0415

        register_subscriber_probe(webhooks.SUBSCRIBER_PROBE)
        event_recorded.connect(webhooks.on_event_recorded, dispatch_uid="api-webhooks")
        for signal in (post_save, post_delete):
            signal.connect(webhooks.forget_endpoints, sender=WebhookEndpoint, weak=False)
