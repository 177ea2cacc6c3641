from django.apps import AppConfig


class XBezahldiensteConfig(AppConfig):
    name = "rathauskasse.providers.xbezahldienste"
    label = "xbezahldienste"
    verbose_name = "XBezahldienste (externe Bezahldienste)"
