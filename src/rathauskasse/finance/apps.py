from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "rathauskasse.finance"
    label = "finance"
    verbose_name = "Finanzverfahren"
