from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "rathauskasse.receivables"
    label = "receivables"
    verbose_name = "Forderungen"
