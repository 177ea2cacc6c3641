from django.conf import settings
from django.contrib import admin
from django.urls import reverse

from rathauskasse.core.admin import ReadOnlyAdmin, ReadOnlyInline
from rathauskasse.core.money import Money
from rathauskasse.receivables import selectors
from rathauskasse.receivables.models import Receivable, ReceivableLine


class ReceivableLineInline(ReadOnlyInline):
    model = ReceivableLine
    fields = ("position", "text", "amount", "budget_line", "booking_data")
    readonly_fields = fields

    @admin.display(description="Betrag")
    def amount(self, line: ReceivableLine) -> str:
        return Money(line.amount_cents).format_de()


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
    inlines = (ReceivableLineInline,)
    readonly_fields = ("pay_link",)
    list_select_related = ("organisation", "department")

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
