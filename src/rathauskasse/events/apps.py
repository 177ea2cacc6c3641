from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "rathauskasse.events"
    label = "events"
    verbose_name = "Ereignisse"
