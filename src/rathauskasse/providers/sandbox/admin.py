from __future__ import annotations

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from rathauskasse.core.admin import ReadOnlyAdmin
from rathauskasse.core.money import Money
from rathauskasse.providers.sandbox import server
from rathauskasse.providers.sandbox.models import SandboxPayout, SandboxState, SandboxTransaction


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(ReadOnlyAdmin):
    list_display = ("reference", "created_at", "amount_cents", "state", "payer_method")
    list_filter = ("state",)
    search_fields = ("reference", "payment_reference")
    actions = ("pay_out",)

    @admin.action(description="Ausgewählte bezahlte Transaktionen auszahlen (Sammelauszahlung)")
    def pay_out(self, request: HttpRequest, queryset: QuerySet[SandboxTransaction]) -> None:
        references = list(
            queryset.filter(state=SandboxState.SUCCEEDED).values_list(
                "payment_reference", flat=True
            )
        )
        payout = server.create_payout(payment_references=references)
        if payout is None:
            self.message_user(
                request,
                "Keine der ausgewählten Transaktionen ist bezahlt und noch nicht ausgezahlt.",
                messages.WARNING,
            )
            return
        self.message_user(
            request,
            f"Auszahlung {payout.reference} über {Money(payout.amount_cents).format_de()} "
            "erstellt. Die Bank zeigt sie mit dieser Referenz im Verwendungszweck.",
        )


@admin.register(SandboxPayout)
class SandboxPayoutAdmin(ReadOnlyAdmin):
    list_display = ("reference", "created_at", "amount", "fees", "report")
    search_fields = ("reference",)

    @admin.display(description="Betrag")
    def amount(self, payout: SandboxPayout) -> str:
        return Money(payout.amount_cents).format_de()

    @admin.display(description="Gebühren")
    def fees(self, payout: SandboxPayout) -> str:
        return Money(payout.fee_cents).format_de()

    @admin.display(description="Auszahlungsbericht")
    def report(self, payout: SandboxPayout) -> str:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">JSON</a>',
            reverse("admin:sandbox_sandboxpayout_report", args=[payout.pk, "csv"]),
            reverse("admin:sandbox_sandboxpayout_report", args=[payout.pk, "json"]),
        )

    def get_urls(self) -> list[URLPattern]:
        report = path(
            "<int:pk>/bericht.<str:kind>",
            self.admin_site.admin_view(self.report_view),
            name="sandbox_sandboxpayout_report",
        )
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise Http404
        payout = SandboxPayout.objects.filter(pk=pk).first()
        if payout is None or kind not in {"csv", "json"}:
            raise Http404("Diese Auszahlung gibt es nicht.")
        if kind == "csv":
            response = HttpResponse(
                server.payout_report_csv(payout), content_type="text/csv; charset=utf-8"
            )
        else:
            response = HttpResponse(
                json.dumps(server.payout_report(payout), ensure_ascii=False, indent=2),
                content_type="application/json",
            )
        response["Content-Disposition"] = f'attachment; filename="{payout.reference}.{kind}"'
        return response
