"""Open-item profiles (edited and audited here), imports (read-only) and the upload page."""

from __future__ import annotations

import json
import tempfile
from pathlib import PurePath
from typing import Any, BinaryIO, cast

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from rathauskasse.core import audit
from rathauskasse.core.admin import AuditedModelAdmin, ReadOnlyAdmin
from rathauskasse.core.models import User
from rathauskasse.core.money import Money
from rathauskasse.finance import openitems, services
from rathauskasse.finance.models import COLUMNS, OpenItemImport, OpenItemProfile

_MAX_MB = openitems.MAX_FILE_BYTES // 1024 // 1024


@admin.register(OpenItemProfile)
class OpenItemProfileAdmin(AuditedModelAdmin):
    """How the finance system's CSV files read; every change (and deletion) is audited."""

    list_display = (
        "name",
        "organisation",
        "description",
        "encoding",
        "delimiter_shown",
        "decimal_separator",
        "has_header",
        "updated_at",
    )
    list_filter = ("organisation", "encoding")
    search_fields = ("name", "description")
    list_select_related = ("organisation",)
    fieldsets = (
        (None, {"fields": ("organisation", "name", "description")}),
        (
            "Dateiformat",
            {
                "fields": (
                    "encoding",
                    "delimiter",
                    "quote_char",
                    "has_header",
                    "decimal_separator",
                    "thousands_separator",
                    "date_format",
                )
            },
        ),
        (
            "Spalten",
            {
                "fields": tuple(f"column_{column.field}" for column in COLUMNS),
                "description": "Welche Spalte der Datei welches Feld enthält: mit Kopfzeile ihr "
                "Name, ohne Kopfzeile ihre Nummer (1 = erste Spalte). Pflicht sind "
                "Kassenzeichen, Betrag und Name; leere Felder werden nicht gelesen.",
            },
        ),
        (
            "Vorgaben für Zeilen ohne diese Angaben",
            {
                "fields": (
                    "default_budget_line",
                    "default_department",
                    "default_purpose",
                    "payment_days",
                )
            },
        ),
    )

    @admin.display(description="Trennzeichen")
    def delimiter_shown(self, profile: OpenItemProfile) -> str:
        return str(profile.get_delimiter_display())

    def delete_model(self, request: HttpRequest, obj: OpenItemProfile) -> None:
        with transaction.atomic():
            self._audit_deletion(request, obj)
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OpenItemProfile]) -> None:
        with transaction.atomic():
            for profile in queryset:
                self._audit_deletion(request, profile)
            super().delete_queryset(request, queryset)

    def _audit_deletion(self, request: HttpRequest, profile: OpenItemProfile) -> None:
        assert isinstance(request.user, User)
        audit.record(
            actor=audit.Actor.user(request.user),
            action="openitemprofile.deleted_in_admin",
            obj=profile,
            organisation_id=profile.organisation_id,
            before=profile.snapshot(),
        )


class UploadForm(forms.Form):
    profile = forms.ModelChoiceField(
        label="Profil",
        queryset=OpenItemProfile.objects.select_related("organisation").order_by(
            "organisation__name", "name"
        ),
        help_text="Das Profil sagt, wie die Datei zu lesen ist, und für welche Organisation sie "
        "gilt.",
    )
    file = forms.FileField(
        label="CSV-Datei",
        help_text=f"Höchstens {_MAX_MB} MB. Eine Datei wird ganz oder gar nicht importiert; "
        "dieselbe Datei ein zweites Mal legt nichts an.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > openitems.MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"Die Datei ist {upload.size / 1024 / 1024:.1f} MB groß; höchstens {_MAX_MB} MB "
                "werden auf einmal importiert. Bitte teilen Sie sie auf."
            )
        return upload


def receivable_links(record: OpenItemImport) -> list[tuple[str, str]]:
    """Links to the admin's list of the receivables an import created, one per id range."""
    base = reverse("admin:receivables_receivable_changelist")
    links = []
    for first, last in record.receivable_ids:
        label = f"Forderungen Nr. {first}–{last}" if first != last else f"Forderung Nr. {first}"
        links.append((f"{base}?id__gte={first}&id__lte={last}", label))
    return links


@admin.register(OpenItemImport)
class OpenItemImportAdmin(ReadOnlyAdmin):
    """Imports are made on the upload page (or with `manage.py import_open_items`), never edited."""

    change_list_template = "admin/finance/openitemimport/change_list.html"
    list_display = (
        "created_at",
        "filename",
        "organisation",
        "profile_name",
        "row_count",
        "total",
        "actor_label",
    )
    list_filter = ("organisation",)
    search_fields = ("filename", "sha256")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)
    fields = (
        "organisation",
        "filename",
        "created_at",
        "actor_label",
        "row_count",
        "total",
        "receivables",
        "print_file",
        "profile",
        "settings_used",
        "sha256",
        "size_bytes",
    )
    readonly_fields = fields

    @admin.display(description="Profil")
    def profile_name(self, record: OpenItemImport) -> str:
        return str(record.profile_settings.get("name", ""))

    @admin.display(description="Summe")
    def total(self, record: OpenItemImport) -> str:
        return Money(record.total_cents).format_de()

    @admin.display(description="Forderungen")
    def receivables(self, record: OpenItemImport) -> str:
        return format_html_join(", ", '<a href="{}">{}</a>', receivable_links(record))

    @admin.display(description="Bescheide")
    def print_file(self, record: OpenItemImport) -> str:
        url = reverse("admin:finance_openitemimport_print", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, PRINT_LABEL)

    @admin.display(description="Einstellungen des Profils beim Import")
    def settings_used(self, record: OpenItemImport) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(record.profile_settings, ensure_ascii=False, indent=2)
        )

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="finance_openitemimport_upload",
        )
        print_file = path(
            "<int:pk>/bescheide.pdf",
            self.admin_site.admin_view(self.print_view),
            name="finance_openitemimport_print",
        )
        return [upload, print_file, *super().get_urls()]

    def print_view(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        """One PDF of the import's Zahlungsaufforderungen, in the order of the postal codes."""
        if not (
            self.has_view_permission(request) and request.user.has_perm("receivables.add_notice")
        ):
            raise PermissionDenied
        record = OpenItemImport.objects.filter(pk=pk).select_related("organisation").first()
        if record is None:
            raise Http404("Diesen Import gibt es nicht.")
        # Spooled to disk beyond 16 MB: a print run of thousands of letters stays out of memory.
        output = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
        letters = services.print_import(
            record=record, actor=audit.Actor.user(_user(request)), output=cast(BinaryIO, output)
        )
        if not letters:
            output.close()
            self.message_user(
                request, "Keine Forderung dieses Imports ist mehr offen; nichts zu drucken."
            )
            return HttpResponseRedirect(
                reverse("admin:finance_openitemimport_change", args=[record.pk])
            )
        output.seek(0)
        filename = f"Bescheide-Import-{record.pk}-{timezone.localtime():%Y-%m-%d-%H%M}.pdf"
        return FileResponse(
            output, as_attachment=True, filename=filename, content_type="application/pdf"
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_upload": _may_upload(request)}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a file with a profile; show what was created, or every reason for refusal."""
        if not _may_upload(request):
            raise PermissionDenied
        result, filename = None, ""
        if request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                profile: OpenItemProfile = form.cleaned_data["profile"]
                upload = form.cleaned_data["file"]
                assert isinstance(request.user, User)
                filename = PurePath(upload.name or "").name
                result = services.import_open_items(
                    organisation=profile.organisation,
                    profile=profile,
                    data=upload.read(),
                    filename=filename,
                    actor=audit.Actor.user(request.user),
                )
                form = UploadForm(initial={"profile": profile.pk})
        else:
            form = UploadForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Offene Posten importieren",
            "form": form,
            "result": result,
            "filename": filename,
            "summary": services.describe(result) if result else "",
            "links": receivable_links(result.record) if result and result.record else [],
            "more_errors": (result.error_count - len(result.errors)) if result else 0,
            "print_label": PRINT_LABEL,
        }
        return TemplateResponse(request, "admin/finance/openitemimport/upload.html", context)


PRINT_LABEL = "Bescheide als eine PDF-Datei drucken"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _may_upload(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("finance.add_openitemimport"))


from rathauskasse.finance import admin_exports  # noqa: E402, F401 - registers the export admin
