from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "rathauskasse.providers.sandbox"
    label = "sandbox"
    verbose_name = "Testzahlungsdienst (Sandbox)"
