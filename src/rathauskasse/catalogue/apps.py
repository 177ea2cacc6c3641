from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "rathauskasse.catalogue"
    label = "catalogue"
    verbose_name = "Leistungen"
