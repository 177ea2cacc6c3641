"""XBezahldienste connections in the admin: audited, secrets write-only, never deleted."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from rathauskasse.core import clock
from rathauskasse.core.admin import AuditedModelAdmin
from rathauskasse.providers.xbezahldienste.models import METHODS, Connection

#: Secrets the client must send: kept as they are, but never shown again after saving.
WRITE_ONLY = ("client_certificate_password", "client_secret", "basic_password")
MAX_CERTIFICATE_BYTES = 64 * 1024
_KEEP = "Wird nach dem Speichern nicht mehr angezeigt. Leer lassen behält den gespeicherten Wert."


class ConnectionForm(forms.ModelForm):  # type: ignore[type-arg]
    methods = forms.MultipleChoiceField(
        label="angebotene Zahlarten",
        choices=[(str(method), method.label) for method in METHODS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Welche Zahlarten der Rathauskasse dieser Bezahldienst annimmt; welche er auf "
        "seiner Seite anbietet, entscheidet er selbst.",
    )
    client_certificate_upload = forms.FileField(
        label="Client-Zertifikat hochladen (PKCS#12, .p12/.pfx)",
        required=False,
        help_text="Ersetzt ein gespeichertes Zertifikat. " + _KEEP,
    )
    client_certificate_password = forms.CharField(
        label="Passwort des Client-Zertifikats",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_KEEP,
    )
    client_secret = forms.CharField(
        label="Client-Secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_KEEP,
    )
    basic_password = forms.CharField(
        label="Passwort",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_KEEP,
    )

    class Meta:
        model = Connection
        fields = (
            "organisation",
            "name",
            "enabled",
            "base_url",
            "originator_id",
            "endpoint_id",
            "auth_mode",
            "client_certificate_path",
            "client_certificate_password",
            "token_url",
            "client_id",
            "client_secret",
            "token_scope",
            "basic_user",
            "basic_password",
            "ca_certificates",
            "methods",
            "key_budget_line",
            "key_product",
            "key_account",
            "key_cost_centre",
            "connect_timeout",
            "read_timeout",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in WRITE_ONLY:
            self.initial[name] = ""  # never sent to the browser; blank means "unchanged"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in WRITE_ONLY:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        upload = cleaned.get("client_certificate_upload")
        if upload is not None:
            if upload.size > MAX_CERTIFICATE_BYTES:
                self.add_error(
                    "client_certificate_upload", "Die Datei ist zu groß für ein Zertifikat."
                )
            else:
                # Not a form field of the model: set it here, before the model validates it.
                self.instance.client_certificate = upload.read()
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(AuditedModelAdmin):
    form = ConnectionForm
    secret_fields = AuditedModelAdmin.secret_fields | {
        *WRITE_ONLY,
        "client_certificate",
        "client_certificate_upload",
    }
    list_display = ("name", "organisation", "enabled", "auth_mode", "base_url", "updated_at")
    list_filter = ("enabled", "auth_mode", "organisation")
    search_fields = ("name", "originator_id", "endpoint_id", "base_url")
    readonly_fields = ("stored_secrets", "certificate_details", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("organisation", "name", "enabled")}),
        (
            "Schnittstelle",
            {
                "fields": (
                    "base_url",
                    "originator_id",
                    "endpoint_id",
                    "connect_timeout",
                    "read_timeout",
                    "ca_certificates",
                )
            },
        ),
        (
            "Anmeldung",
            {
                "fields": ("auth_mode", "stored_secrets"),
                "description": "Passwörter, Client-Secret und Zertifikat werden so gespeichert, "
                "wie der Bezahldienst sie braucht, aber nie wieder angezeigt. Beim Speichern "
                "werden die Zugangsdaten der nicht gewählten Verfahren gelöscht.",
            },
        ),
        (
            "Client-Zertifikat (mTLS)",
            {
                "fields": (
                    "client_certificate_upload",
                    "client_certificate_path",
                    "client_certificate_password",
                    "certificate_details",
                )
            },
        ),
        (
            "OAuth2 Client Credentials",
            {"fields": ("token_url", "client_id", "client_secret", "token_scope")},
        ),
        ("HTTP Basic", {"fields": ("basic_user", "basic_password")}),
        (
            "Zahlarten und Buchungsdaten",
            {
                "fields": (
                    "methods",
                    "key_budget_line",
                    "key_product",
                    "key_account",
                    "key_cost_centre",
                ),
                "description": "Weitere Buchungsdaten der Haushaltsstellen und Positionen "
                "gehen unter ihren eigenen Namen mit.",
            },
        ),
        ("Änderungen", {"fields": ("created_at", "updated_at")}),
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # begun payments still ask through it: switch it off instead

    @admin.display(description="gespeicherte Zugangsdaten")
    def stored_secrets(self, obj: Connection) -> str:
        stored = [
            (label, "hinterlegt" if value else "nicht hinterlegt")
            for label, value in (
                ("Client-Zertifikat", obj.client_certificate or obj.client_certificate_path),
                ("Passwort des Client-Zertifikats", obj.client_certificate_password),
                ("Client-Secret", obj.client_secret),
                ("Passwort (HTTP Basic)", obj.basic_password),
            )
        ]
        return format_html_join("", "<div>{}: {}</div>", stored)

    @admin.display(description="Zertifikat")
    def certificate_details(self, obj: Connection) -> str:
        info = obj.certificate_info() if obj.pk else None
        if info is None:
            return "–"
        until = info.not_after.astimezone(clock.BERLIN).strftime("%d.%m.%Y %H:%M")
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            [
                ("Inhaber", info.subject),
                ("Aussteller", info.issuer),
                ("gültig bis", until),
                ("SHA-256", info.fingerprint),
            ],
        )
