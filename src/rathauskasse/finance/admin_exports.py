"""Export profiles (edited with a preview, versioned, audited), batches (read-only, downloaded
byte for byte), "export now", and the reconciliation of open items with the finance system."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from rathauskasse.core import audit
from rathauskasse.core.admin import ReadOnlyAdmin
from rathauskasse.core.errors import DomainError
from rathauskasse.core.models import User
from rathauskasse.core.money import Money
from rathauskasse.finance import exports, services
from rathauskasse.finance.models import (
    ExportBatch,
    ExportProfile,
    ExportProfileVersion,
    ExportTrigger,
    OpenItemProfile,
)
from rathauskasse.finance.reconcile import Report


def _actor(request: HttpRequest) -> audit.Actor:
    assert isinstance(request.user, User)
    return audit.Actor.user(request.user)


class _PrettyJSON(forms.JSONField):
    """Columns one per line, as people read and edit them."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            inner = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in value)
            return f"[\n  {inner}\n]" if value else "[]"
        return json.dumps(value, ensure_ascii=False)


class ExportProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    record_kinds = forms.MultipleChoiceField(
        label="Satzarten",
        choices=list(exports.RECORD_KINDS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text="Welche Bewegungen der Forderungen die Datei enthält.",
    )
    columns = _PrettyJSON(
        label="Spalten",
        widget=forms.Textarea(attrs={"rows": 20, "cols": 110, "spellcheck": "false"}),
        help_text=ExportProfile._meta.get_field("columns").help_text
        + " Quellen: "
        + ", ".join(f"{name} ({source.label})" for name, source in exports.SOURCES.items())
        + ".",
    )

    class Meta:
        model = ExportProfile
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose and order them


@admin.register(ExportProfile)
class ExportProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Saved through the service: checked, audited, and versioned on every change."""

    form = ExportProfileForm
    change_form_template = "admin/finance/exportprofile/change_form.html"
    list_display = (
        "name",
        "organisation",
        "description",
        "file_format",
        "encoding",
        "daily_at",
        "version",
        "is_active",
    )
    list_filter = ("organisation", "file_format", "is_active")
    search_fields = ("name", "description")
    list_select_related = ("organisation",)
    readonly_fields = ("version", "next_run_at", "batches_link")
    actions = ("export_now",)
    fieldsets = (
        (None, {"fields": ("organisation", "name", "description", "is_active", "version")}),
        ("Inhalt", {"fields": ("record_kinds",)}),
        (
            "Dateiformat",
            {
                "fields": (
                    "file_format",
                    "encoding",
                    "line_ending",
                    "delimiter",
                    "quote_char",
                    "quoting",
                    "include_header",
                    "amount_format",
                    "decimal_separator",
                    "sign",
                    "date_format",
                    "filename_pattern",
                )
            },
        ),
        ("Spalten", {"fields": ("columns",)}),
        ("Zeitplan", {"fields": ("daily_at", "next_run_at", "batches_link")}),
    )

    @admin.display(description="Exporte")
    def batches_link(self, profile: ExportProfile | None) -> str:
        if profile is None or not profile.pk:
            return "–"
        url = reverse("admin:finance_exportbatch_changelist") + f"?profile__id__exact={profile.pk}"
        return format_html('<a href="{}">{} Exporte ansehen</a>', url, profile.batches.count())

    def save_model(
        self,
        request: HttpRequest,
        obj: ExportProfile,
        form: Any,
        change: bool,  # noqa: FBT001
    ) -> None:
        services.save_export_profile(actor=_actor(request), profile=obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A profile that has exported is kept with its batches; deactivate it instead.
        return super().has_delete_permission(request, obj) and (
            obj is None or not obj.batches.exists()
        )

    @admin.action(description="Jetzt exportieren", permissions=["change"])
    def export_now(self, request: HttpRequest, queryset: QuerySet[ExportProfile]) -> None:
        for profile in queryset:
            try:
                result = services.export_bookings(
                    profile=profile, actor=_actor(request), trigger=ExportTrigger.ADMIN
                )
            except DomainError as exc:
                self.message_user(request, f"{profile.name}: {exc.message}", messages.ERROR)
                continue
            if result.batch is None:
                self.message_user(request, f"{profile.name}: nichts Neues zu exportieren.")
                continue
            url = reverse("admin:finance_exportbatch_download", args=[result.batch.pk])
            self.message_user(
                request,
                format_html(
                    '{}: Export Nr. {} mit {} Sätzen (Saldo {}) – <a href="{}">{} laden</a>',
                    profile.name,
                    result.batch.number,
                    result.records,
                    Money(result.batch.net_cents).format_de(),
                    url,
                    result.batch.filename,
                ),
            )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", view, name="finance_exportprofile_preview"),
            path("<int:pk>/preview/", view, name="finance_exportprofile_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        """The first rows of the next export with the settings in the form, saved or not."""
        profile = ExportProfile.objects.filter(pk=pk).first() if pk is not None else None
        if pk is not None and profile is None:
            raise Http404("Dieses Exportprofil gibt es nicht.")
        if not (self.has_change_permission(request, profile) or self.has_add_permission(request)):
            raise PermissionDenied
        form_class = self.get_form(request, profile)
        lines: list[str] = []
        if request.method == "POST":
            form = form_class(request.POST, instance=profile)
        else:
            form = form_class(instance=profile, data=None)
        if form.is_bound and form.is_valid():
            lines = services.preview_export(profile=form.save(commit=False))
        elif not form.is_bound and profile is not None:
            lines = services.preview_export(profile=profile)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Vorschau des nächsten Exports",
            "profile": profile,
            "form": form,
            "lines": lines,
            "errors": form.errors if form.is_bound else {},
        }
        return TemplateResponse(request, "admin/finance/exportprofile/preview.html", context)


@admin.register(ExportProfileVersion)
class ExportProfileVersionAdmin(ReadOnlyAdmin):
    list_display = ("profile", "number", "created_at", "actor_label")
    list_filter = ("profile__organisation",)
    fields = ("profile", "number", "created_at", "actor_label", "settings_shown")
    readonly_fields = fields

    @admin.display(description="Einstellungen")
    def settings_shown(self, version: ExportProfileVersion) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(version.settings, ensure_ascii=False, indent=2)
        )


class ReconcileForm(forms.Form):
    profile = forms.ModelChoiceField(
        label="Profil der Datei",
        queryset=OpenItemProfile.objects.select_related("organisation").order_by(
            "organisation__name", "name"
        ),
        help_text="Das Profil für offene Posten, mit dem die Liste zu lesen ist (Kassenzeichen "
        "und offener Betrag).",
    )
    file = forms.FileField(
        label="Offene-Posten-Liste des Finanzverfahrens (CSV)",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )


@admin.register(ExportBatch)
class ExportBatchAdmin(ReadOnlyAdmin):
    """Batches are made by exports, never edited; their stored file is downloaded as it is."""

    change_list_template = "admin/finance/exportbatch/change_list.html"
    list_display = (
        "created_at",
        "profile",
        "number",
        "record_count",
        "net",
        "period",
        "trigger",
        "download",
    )
    list_filter = ("organisation", "profile", "trigger")
    date_hierarchy = "created_at"
    list_select_related = ("profile", "version")
    fields = (
        "organisation",
        "profile",
        "version",
        "number",
        "created_at",
        "actor_label",
        "trigger",
        "until",
        "period",
        "record_count",
        "counts_by_kind",
        "debit",
        "credit",
        "net",
        "first_line_id",
        "last_line_id",
        "download",
        "size_bytes",
        "sha256",
    )
    readonly_fields = fields

    @admin.display(description="Saldo (Soll positiv)")
    def net(self, batch: ExportBatch) -> str:
        return Money(batch.net_cents).format_de()

    @admin.display(description="Soll")
    def debit(self, batch: ExportBatch) -> str:
        return Money(batch.debit_cents).format_de()

    @admin.display(description="Haben")
    def credit(self, batch: ExportBatch) -> str:
        return Money(-batch.credit_cents).format_de()

    @admin.display(description="Buchungstage")
    def period(self, batch: ExportBatch) -> str:
        if batch.period_from == batch.period_until:
            return f"{batch.period_from:%d.%m.%Y}"
        return f"{batch.period_from:%d.%m.%Y} – {batch.period_until:%d.%m.%Y}"

    @admin.display(description="Datei")
    def download(self, batch: ExportBatch) -> str:
        url = reverse("admin:finance_exportbatch_download", args=[batch.pk])
        return format_html('<a href="{}" download>{}</a>', url, batch.filename)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="finance_exportbatch_download",
            ),
            path(
                "abgleich/",
                self.admin_site.admin_view(self.reconcile_view),
                name="finance_exportbatch_reconcile",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk: int) -> FileResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = ExportBatch.objects.filter(pk=pk).first()
        if batch is None:
            raise Http404("Diesen Export gibt es nicht.")
        try:
            stored = services.open_batch_file(batch=batch)
        except services.ExportFileChanged as exc:
            raise PermissionDenied(exc.message) from exc
        content_type = "application/x-ndjson" if batch.filename.endswith(".jsonl") else "text/plain"
        return FileResponse(
            stored, as_attachment=True, filename=batch.filename, content_type=content_type
        )

    def reconcile_view(self, request: HttpRequest) -> HttpResponse:
        """Compare the finance system's open-item list with the open receivables here."""
        if not (
            self.has_view_permission(request)
            and request.user.has_perm("receivables.view_receivable")
        ):
            raise PermissionDenied
        report: Report | None = None
        if request.method == "POST":
            form = ReconcileForm(request.POST, request.FILES)
            if form.is_valid():
                profile: OpenItemProfile = form.cleaned_data["profile"]
                report = services.reconcile_open_items(
                    organisation=profile.organisation,
                    profile=profile,
                    data=form.cleaned_data["file"].read(),
                )
        else:
            form = ReconcileForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Offene Posten mit dem Finanzverfahren abgleichen",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/finance/exportbatch/reconcile.html", context)
