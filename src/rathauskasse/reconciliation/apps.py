from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "rathauskasse.reconciliation"
    label = "reconciliation"
    verbose_name = "Kontoauszüge und Klärung"
