from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "rathauskasse.reconciliation"
    label = "reconciliation"
    verbose_name = "Kontoauszüge und Klärung"

    def ready(self) -> None:
        from rathauskasse.receivables import clearing  # noqa: PLC0415 - models are ready now
        from rathauskasse.reconciliation import services  # noqa: PLC0415

        clearing.register(services.under_clearing_ids)
