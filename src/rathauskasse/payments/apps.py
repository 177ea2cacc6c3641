from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "rathauskasse.payments"
    label = "payments"
    verbose_name = "Zahlungen"
