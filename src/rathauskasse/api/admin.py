"""API keys in the admin: made here (the key is shown once), revoked here, never edited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from rathauskasse.api import services, webhooks
from rathauskasse.api.models import (
    ApiKey,
    Scope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    XBezahldiensteEndpoint,
    XBezahldiensteTransaction,
)
from rathauskasse.api.xbezahldienste import auth as xbezahldienste_auth
from rathauskasse.api.xbezahldienste import services as xbezahldienste
from rathauskasse.core import audit
from rathauskasse.core.admin import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline
from rathauskasse.core.models import User


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        label="Rechte", choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiKey
        fields = ("organisation", "name", "mode", "scopes", "departments")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApiKeyForm
    list_display = (
        "name",
        "organisation",
        "mode",
        "key_id",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("organisation", "mode")
    search_fields = ("name", "key_id")
    actions = ("revoke",)
    readonly_fields = ("key_id", "created_at", "last_used_at", "revoked_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a key is made or revoked, never changed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked keys stay, for the audit trail

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:  # noqa: FBT001
        assert isinstance(request.user, User)
        created, token = services.create_api_key(
            actor=audit.Actor.user(request.user),
            organisation=form.cleaned_data["organisation"],
            name=form.cleaned_data["name"],
            mode=form.cleaned_data["mode"],
            scopes=form.cleaned_data["scopes"],
            departments=form.cleaned_data["departments"],
        )
        obj.pk = created.pk
        messages.warning(
            request,
            f"Der Schlüssel lautet {token} – er wird nur dieses eine Mal angezeigt. "
            "Geben Sie ihn sicher an das Fachverfahren weiter.",
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:  # noqa: FBT001
        """The service already stored the departments."""

    @admin.action(description="Ausgewählte Schlüssel widerrufen")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        assert isinstance(request.user, User)
        for api_key in queryset:
            services.revoke_api_key(actor=audit.Actor.user(request.user), api_key=api_key)
        self.message_user(request, f"{queryset.count()} Schlüssel widerrufen.")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditedModelAdmin):
    list_display = ("url", "organisation", "is_active", "created_at")
    list_filter = ("organisation", "is_active")
    readonly_fields = ("secret", "created_at")
    fields = ("organisation", "url", "events", "is_active", "secret", "created_at")


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "error", "duration_ms")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event", "endpoint", "state", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("state", "endpoint")
    inlines = (WebhookAttemptInline,)
    actions = ("replay",)

    @admin.action(description="Ausgewählte Zustellungen erneut senden")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            webhooks.replay(delivery)
        self.message_user(request, f"{queryset.count()} Zustellungen werden erneut gesendet.")


# --- XBezahldienste ----------------------------------------------------------------------------


def _provider_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in settings.PAYMENT_PROVIDERS]


class XBezahldiensteEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    provider = forms.TypedChoiceField(label="Zahlungsdienst", choices=_provider_choices)
    basic_password = forms.CharField(
        label="Neues Passwort (HTTP Basic)",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leer lassen: das Passwort bleibt, wie es ist.",
    )
    remove_basic_password = forms.BooleanField(label="Basic-Passwort entfernen", required=False)
    new_client_secret = forms.BooleanField(
        label="Neues OAuth2-Client-Secret erzeugen",
        required=False,
        help_text="Das Secret wird nach dem Speichern einmal angezeigt; ausgegebene Tokens "
        "werden ungültig.",
    )

    class Meta:
        model = XBezahldiensteEndpoint
        fields = (
            "organisation",
            "name",
            "originator_id",
            "endpoint_id",
            "department",
            "default_budget_line",
            "provider",
            "method",
            "booking_data_mapping",
            "required_booking_keys",
            "is_enabled",
            "basic_username",
            "client_cert_sha256",
        )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        keeps_password = bool(self.instance.basic_password_hash) and not cleaned.get(
            "remove_basic_password"
        )
        if (cleaned.get("basic_password") or keeps_password) and not cleaned.get("basic_username"):
            self.add_error("basic_username", "Zum Basic-Passwort gehört ein Benutzername.")
        return cleaned

    def clean_client_cert_sha256(self) -> str:
        return xbezahldienste_auth.normalise_fingerprint(
            self.cleaned_data.get("client_cert_sha256") or ""
        )


@admin.register(XBezahldiensteEndpoint)
class XBezahldiensteEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Pairs of originatorId and endPointId; every change goes through the audited service."""

    form = XBezahldiensteEndpointForm
    list_display = (
        "originator_id",
        "endpoint_id",
        "name",
        "organisation",
        "department",
        "provider",
        "is_enabled",
    )
    list_filter = ("organisation", "is_enabled", "provider")
    search_fields = ("originator_id", "endpoint_id", "name")
    readonly_fields = ("oauth_client_id", "has_basic_password", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("organisation", "name", "originator_id", "endpoint_id", "is_enabled")}),
        (
            "Buchung und Zahlung",
            {
                "fields": (
                    "department",
                    "default_budget_line",
                    "provider",
                    "method",
                    "booking_data_mapping",
                    "required_booking_keys",
                )
            },
        ),
        (
            "Anmeldung",
            {
                "fields": (
                    "basic_username",
                    "has_basic_password",
                    "basic_password",
                    "remove_basic_password",
                    "oauth_client_id",
                    "new_client_secret",
                    "client_cert_sha256",
                )
            },
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Basic-Passwort gesetzt", boolean=True)
    def has_basic_password(self, obj: XBezahldiensteEndpoint) -> bool:
        return bool(obj.basic_password_hash)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # pairs with transactions stay; switch them off instead

    def save_model(
        self,
        request: HttpRequest,
        obj: XBezahldiensteEndpoint,
        form: Any,
        change: bool,  # noqa: FBT001
    ) -> None:
        assert isinstance(request.user, User)
        password = form.cleaned_data.get("basic_password") or None
        if form.cleaned_data.get("remove_basic_password"):
            password = ""
        secret = xbezahldienste.save_endpoint(
            actor=audit.Actor.user(request.user),
            endpoint=obj,
            basic_password=password,
            new_client_secret=bool(form.cleaned_data.get("new_client_secret")),
        )
        if secret is not None:
            messages.warning(
                request,
                f"OAuth2: Client-ID {obj.oauth_client_id}, Client-Secret {secret} – das Secret "
                "wird nur dieses eine Mal angezeigt. Geben Sie es sicher an den Online-Dienst "
                "weiter.",
            )


@admin.register(XBezahldiensteTransaction)
class XBezahldiensteTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "transaction_id",
        "request_id",
        "endpoint",
        "payment_status",
        "receivable",
        "created_at",
        "withdrawn_at",
    )
    list_filter = ("endpoint", "organisation")
    search_fields = ("transaction_id", "request_id", "receivable__kassenzeichen")
    list_select_related = ("endpoint", "payment", "receivable", "receivable__organisation")
    readonly_fields = (
        "transaction_id",
        "request_id",
        "endpoint",
        "organisation",
        "receivable",
        "payment",
        "redirect_url",
        "received_request",
        "created_at",
        "withdrawn_at",
    )
    fields = readonly_fields

    @admin.display(description="Zahlung")
    def payment_status(self, obj: XBezahldiensteTransaction) -> str:
        return str(obj.payment.get_status_display())
