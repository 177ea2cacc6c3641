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
        from rathauskasse.api.xbezahldienste import services as xbezahldienste  # noqa: PLC0415

        # A transaction's receivable follows its payment's outcome, in the same transaction.
        event_recorded.connect(
            xbezahldienste.on_event_recorded, dispatch_uid="api-xbezahldienste-receivables"
        )
        for signal in (post_save, post_delete):
            signal.connect(webhooks.forget_endpoints, sender=WebhookEndpoint, weak=False)
