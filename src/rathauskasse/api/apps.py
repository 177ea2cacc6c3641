from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "rathauskasse.api"
    label = "api"
    verbose_name = "Schnittstellen"
