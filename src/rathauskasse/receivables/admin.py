from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from rathauskasse.core import audit
from rathauskasse.core.admin import AuditedModelAdmin, ReadOnlyAdmin, ReadOnlyInline
from rathauskasse.core.errors import DomainError
from rathauskasse.core.models import User
from rathauskasse.core.money import Money
from rathauskasse.receivables import notices, placeholders, selectors
from rathauskasse.receivables.models import (
    DeliveryChannel,
    Notice,
    NoticeTemplate,
    Receivable,
    ReceivableLine,
    ReminderPolicy,
    ReminderRun,
)


def _actor(request: HttpRequest) -> audit.Actor:
    assert isinstance(request.user, User)
    return audit.Actor.user(request.user)


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _print_filename(prefix: str) -> str:
    return f"{prefix}-{timezone.localtime():%Y-%m-%d-%H%M}.pdf"


class ReceivableLineInline(ReadOnlyInline):
    model = ReceivableLine
    fields = ("position", "text", "amount", "budget_line", "booking_data")
    readonly_fields = fields

    @admin.display(description="Betrag")
    def amount(self, line: ReceivableLine) -> str:
        return Money(line.amount_cents).format_de()


def _pdf_link(notice: Notice) -> str:
    url = reverse("admin:receivables_notice_pdf", args=[notice.pk])
    return format_html('<a href="{}">{}</a>', url, notice.filename)


class NoticeInline(ReadOnlyInline):
    model = Notice
    fields = ("sequence", "kind", "amount", "channel", "delivered_at", "issued_at", "pdf")
    readonly_fields = fields
    ordering = ("sequence",)

    @admin.display(description="Betrag")
    def amount(self, notice: Notice) -> str:
        return Money(notice.amount_cents).format_de()

    @admin.display(description="PDF")
    def pdf(self, notice: Notice) -> str:
        return _pdf_link(notice)


@admin.register(Receivable)
class ReceivableAdmin(ReadOnlyAdmin):
    """Receivables are created and cancelled only through services, which also post them."""

    list_display = (
        "kassenzeichen",
        "purpose",
        "amount",
        "open_amount",
        "status",
        "due_date",
        "department",
    )
    list_filter = ("organisation", "status", "source", "department")
    search_fields = ("kassenzeichen", "purpose", "debtor_name", "source_reference")
    date_hierarchy = "due_date"
    inlines = (ReceivableLineInline, NoticeInline)
    readonly_fields = ("pay_link",)
    list_select_related = ("organisation", "department")
    actions = ("issue_and_print", "issue_and_send")

    @admin.display(description="Betrag")
    def amount(self, receivable: Receivable) -> str:
        return Money(receivable.amount_cents).format_de()

    @admin.display(description="offen")
    def open_amount(self, receivable: Receivable) -> str:
        return Money(selectors.open_amount(receivable=receivable)).format_de()

    @admin.display(description="Zahlungslink")
    def pay_link(self, receivable: Receivable) -> str:
        """The address a letter's QR code holds: it opens the payment of this receivable."""
        site: str = settings.SITE_URL
        return site + reverse("portal:pay-link", args=[receivable.pay_token])

    def _issue(
        self, request: HttpRequest, queryset: QuerySet[Receivable], channel: str | None
    ) -> HttpResponse | None:
        output = io.BytesIO()
        try:
            result = notices.issue_batch(
                receivables=list(queryset.order_by("pk").values_list("pk", flat=True)),
                actor=_actor(request),
                channel=channel,
                output=output,
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        for kassenzeichen, reason in result.skipped:
            self.message_user(request, f"{kassenzeichen}: {reason}", messages.WARNING)
        if result.emailed:
            self.message_user(
                request, f"{result.emailed} Bescheid(e) gehen per E-Mail hinaus.", messages.SUCCESS
            )
        if not result.printed:
            if not result.emailed:
                self.message_user(request, "Es wurde kein Bescheid erstellt.", messages.WARNING)
            return None
        return _pdf_response(output.getvalue(), _print_filename("Bescheide"))

    @admin.action(description="Zahlungsaufforderung erstellen und drucken (ein PDF)")
    def issue_and_print(
        self, request: HttpRequest, queryset: QuerySet[Receivable]
    ) -> HttpResponse | None:
        return self._issue(request, queryset, DeliveryChannel.PRINT)

    @admin.action(description="Zahlungsaufforderung versenden (E-Mail, sonst Brief als PDF)")
    def issue_and_send(
        self, request: HttpRequest, queryset: QuerySet[Receivable]
    ) -> HttpResponse | None:
        return self._issue(request, queryset, None)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """Notices are issued by services (admin action on receivables, API, command line)."""

    list_display = (
        "receivable",
        "kind",
        "sequence",
        "amount",
        "channel",
        "delivered_at",
        "issued_at",
        "pdf",
    )
    list_filter = ("organisation", "kind", "channel", ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = ("receivable__kassenzeichen", "receivable__debtor_name")
    date_hierarchy = "issued_at"
    list_select_related = ("receivable", "receivable__organisation")
    actions = ("print_selected",)
    exclude = ("content",)
    readonly_fields = ("pdf",)

    @admin.display(description="Betrag")
    def amount(self, notice: Notice) -> str:
        return Money(notice.amount_cents).format_de()

    @admin.display(description="PDF")
    def pdf(self, notice: Notice) -> str:
        return _pdf_link(notice)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:notice_id>/pdf/",
                self.admin_site.admin_view(self.download),
                name="receivables_notice_pdf",
            )
        ]
        return own + super().get_urls()

    def download(self, request: HttpRequest, notice_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        notice = get_object_or_404(Notice.objects.select_related("receivable"), pk=notice_id)
        return _pdf_response(notices.notice_pdf(notice), notice.filename)

    @admin.action(description="Druckdatei der ausgewählten Bescheide (ein PDF)")
    def print_selected(
        self, request: HttpRequest, queryset: QuerySet[Notice]
    ) -> HttpResponse | None:
        output = io.BytesIO()
        try:
            count = notices.print_notices(
                notices=queryset.select_related("receivable"), output=output, actor=_actor(request)
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        if not count:
            return None
        return _pdf_response(output.getvalue(), _print_filename("Druckdatei"))


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(AuditedModelAdmin):
    list_display = ("__str__", "organisation", "kind", "service", "version", "updated_at")
    list_filter = ("organisation", "kind")
    readonly_fields = ("version", "help")
    fields = ("organisation", "kind", "service", "subject", "body", "version", "help")

    @admin.display(description="Platzhalter")
    def help(self, template: NoticeTemplate | None = None) -> str:
        rows = format_html_join(
            "",
            "<li><code>{}</code> – {}</li>",
            ((f"{{{name}}}", meaning) for name, meaning in placeholders.PLACEHOLDERS.items()),
        )
        return format_html(
            "<p>{}</p><ul>{}</ul>",
            "Im Betreff und im Text stehen Platzhalter in geschweiften Klammern; andere Namen "
            "werden beim Speichern abgelehnt. Eine Klammer im Text schreiben Sie doppelt: {{ }}.",
            rows,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:  # noqa: FBT001
        if change and {"subject", "body"} & set(form.changed_data):
            obj.version += 1  # notices written from now on name the new version
        super().save_model(request, obj, form, change)


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(AuditedModelAdmin):
    list_display = (
        "__str__",
        "organisation",
        "department",
        "enabled",
        "days_overdue",
        "pay_within_days",
        "fee",
    )
    list_filter = ("organisation", "enabled")

    @admin.display(description="Mahngebühr")
    def fee(self, policy: ReminderPolicy) -> str:
        return Money(policy.fee_cents).format_de()


@admin.register(ReminderRun)
class ReminderRunAdmin(ReadOnlyAdmin):
    list_display = ("day", "started_at", "reminded")
