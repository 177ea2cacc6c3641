from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "rathauskasse.applications"
    label = "applications"
    verbose_name = "Anträge"

    def ready(self) -> None:
        from rathauskasse.applications import services  # noqa: PLC0415 - apps load first
        from rathauskasse.receivables.signals import receivables_paid  # noqa: PLC0415

        receivables_paid.connect(services.on_receivables_paid, dispatch_uid="applications-paid")
