from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "rathauskasse.core"
    label = "core"
    verbose_name = "Grundlagen"
