from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "rathauskasse.organisations"
    label = "organisations"
    verbose_name = "Organisation"
