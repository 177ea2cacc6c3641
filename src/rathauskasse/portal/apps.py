from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "rathauskasse.portal"
    label = "portal"
    verbose_name = "Bürgerportal"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in  # noqa: PLC0415 - apps load first

        from rathauskasse.portal import accounts  # noqa: PLC0415

        user_logged_in.connect(accounts.claim_guest_items, dispatch_uid="portal-claim")
