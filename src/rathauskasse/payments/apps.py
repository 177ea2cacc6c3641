from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "rathauskasse.payments"
    label = "payments"
    verbose_name = "Zahlungen"

    def ready(self) -> None:
        from rathauskasse.payments import selectors  # noqa: PLC0415 - models are ready now
        from rathauskasse.receivables import clearing  # noqa: PLC0415

        clearing.register(selectors.receivables_with_unfinished_payments)
