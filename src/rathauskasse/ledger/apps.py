from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "rathauskasse.ledger"
    label = "ledger"
    verbose_name = "Hauptbuch"
