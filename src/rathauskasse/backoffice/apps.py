from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "rathauskasse.backoffice"
    label = "backoffice"
    verbose_name = "Verwaltung"
