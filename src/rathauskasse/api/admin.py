"""API keys in the admin: made here (the key is shown once), revoked here, never edited."""

from __future__ import annotations

from typing import Any

from django import forms
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
)
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
