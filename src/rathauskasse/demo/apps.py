from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "rathauskasse.demo"
    label = "demo"
    verbose_name = "Demodaten"
