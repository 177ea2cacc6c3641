"""Bank accounts (edited and audited), statement files with the upload page and its progress,
statements and their lines with the decision that booked them (read-only)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from rathauskasse.core import audit
from rathauskasse.core.admin import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline
from rathauskasse.core.models import User
from rathauskasse.core.money import Money
from rathauskasse.organisations.models import Organisation
from rathauskasse.reconciliation import services
from rathauskasse.reconciliation.models import (
    BankAccount,
    FileStatus,
    LineAllocation,
    Statement,
    StatementFile,
    StatementLine,
)

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
#: Seconds between the progress page's reloads while an import waits or runs.
REFRESH_SECONDS = 2


def _euro(cents: int) -> str:
    return Money(cents).format_de()


@admin.register(BankAccount)
class BankAccountAdmin(AuditedModelAdmin):
    list_display = ("name", "iban", "organisation", "is_active")
    list_filter = ("organisation", "is_active")
    search_fields = ("name", "iban")
    list_select_related = ("organisation",)


class UploadForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.order_by("name"),
        help_text="Der Auszug muss für eines ihrer Bankkonten sein.",
    )
    file = forms.FileField(
        label="Kontoauszug",
        help_text="camt.052, camt.053, camt.054, MT940 oder CSV, höchstens "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Eine Datei wird ganz oder gar nicht "
        "importiert; bereits importierte Buchungen werden übersprungen.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"Die Datei ist {upload.size / 1024 / 1024:.1f} MB groß; höchstens "
                f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB werden auf einmal importiert."
            )
        return upload


class StatementInline(ReadOnlyInline):
    model = Statement
    fields = ("statement_id", "bank_account", "from_date", "to_date", "lines_total", "lines_new")
    readonly_fields = fields


@admin.register(StatementFile)
class StatementFileAdmin(ReadOnlyAdmin):
    """Files are uploaded on the upload page (or imported with `manage.py import_statement`)."""

    change_list_template = "admin/reconciliation/statementfile/change_list.html"
    list_display = (
        "created_at",
        "file_name",
        "organisation",
        "status",
        "lines_new",
        "lines_booked",
        "lines_flagged",
        "lines_clearing",
        "actor_label",
    )
    list_filter = ("organisation", "status")
    search_fields = ("file_name", "sha256")
    date_hierarchy = "created_at"
    list_select_related = ("organisation",)
    exclude = ("content",)
    inlines = (StatementInline,)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="reconciliation_statementfile_upload",
            ),
            path(
                "<int:pk>/fortschritt/",
                self.admin_site.admin_view(self.progress_view),
                name="reconciliation_statementfile_progress",
            ),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_upload": _may_upload(request)}
        return super().changelist_view(request, extra_context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a file; the import runs in the background and the next page shows it."""
        if not _may_upload(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            assert isinstance(request.user, User)
            record = services.upload_statement(
                organisation=form.cleaned_data["organisation"],
                data=upload.read(),
                file_name=PurePath(upload.name or "auszug").name,
                actor=audit.Actor.user(request.user),
            )
            return HttpResponseRedirect(
                reverse("admin:reconciliation_statementfile_progress", args=[record.pk])
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Kontoauszug importieren",
            "form": form,
        }
        return TemplateResponse(request, "admin/reconciliation/statementfile/upload.html", context)

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Where an upload stands; reloads itself (HTTP Refresh, no script) until it is done."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        record = StatementFile.objects.filter(pk=pk).select_related("organisation").first()
        if record is None:
            raise Http404("Diese Datei gibt es nicht.")
        waiting = record.status in {FileStatus.QUEUED, FileStatus.RUNNING}
        percent = (
            round(100 * record.progress_done / record.progress_total)
            if record.progress_total
            else None
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import von „{record.file_name}“",
            "record": record,
            "waiting": waiting,
            "percent": percent,
            "refresh_seconds": REFRESH_SECONDS,
            "credit": _euro(record.credit_cents),
            "debit": _euro(record.debit_cents),
            "clearing": _euro(record.clearing_cents),
            "lines_url": reverse("admin:reconciliation_statementline_changelist")
            + f"?statement__file__id__exact={record.pk}",
        }
        response = TemplateResponse(
            request, "admin/reconciliation/statementfile/progress.html", context
        )
        if waiting:
            response["Refresh"] = str(REFRESH_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


def _may_upload(request: HttpRequest) -> bool:
    return bool(request.user.has_perm("reconciliation.add_statementfile"))


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = (
        "statement_id",
        "bank_account",
        "from_date",
        "to_date",
        "lines_total",
        "lines_new",
        "imported_at",
    )
    list_filter = ("organisation", "bank_account")
    search_fields = ("statement_id",)
    list_select_related = ("bank_account",)


class AllocationInline(ReadOnlyInline):
    model = LineAllocation
    fk_name = "line"
    fields = ("receivable", "amount_cents", "journal_entry")
    readonly_fields = fields


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    """Every line with the rule that decided, the outcome and the reason, for the cash office."""

    list_display = (
        "booking_date",
        "amount",
        "counterparty_name",
        "short_text",
        "rule",
        "outcome",
        "clearing_status",
        "reason",
    )
    list_filter = ("organisation", "outcome", "rule", "clearing_status", "bank_account")
    search_fields = (
        "remittance_text",
        "counterparty_name",
        "end_to_end_id",
        "account_servicer_reference",
        "payout_reference",
    )
    date_hierarchy = "booking_date"
    list_select_related = ("bank_account",)
    inlines = (AllocationInline,)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The progress page links to the lines of one file.
        return lookup == "statement__file__id__exact" or super().lookup_allowed(
            lookup, value, request
        )

    @admin.display(description="Betrag", ordering="amount_cents")
    def amount(self, line: StatementLine) -> str:
        return _euro(line.amount_cents)

    @admin.display(description="Verwendungszweck")
    def short_text(self, line: StatementLine) -> str:
        text = line.remittance_text
        return text if len(text) <= 60 else text[:59] + "…"
