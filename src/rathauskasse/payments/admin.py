from django.contrib import admin

from rathauskasse.core.admin import ReadOnlyAdmin, ReadOnlyInline
from rathauskasse.core.money import Money
from rathauskasse.payments.models import Payment, PaymentAllocation, PaymentEvent, Refund


class AllocationInline(ReadOnlyInline):
    model = PaymentAllocation
    fields = ("receivable", "amount_cents")
    readonly_fields = fields


class EventInline(ReadOnlyInline):
    model = PaymentEvent
    fields = (
        "created_at",
        "kind",
        "from_status",
        "to_status",
        "source",
        "provider_event_id",
        "data",
    )
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("created_at", "amount_cents", "status", "reason", "provider_reference")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "created_at",
        "amount",
        "provider",
        "method",
        "status",
        "refund_status",
    )
    list_filter = ("organisation", "status", "provider", "method", "refund_status")
    search_fields = ("public_id", "provider_reference", "description")
    date_hierarchy = "created_at"
    inlines = (AllocationInline, EventInline, RefundInline)

    @admin.display(description="Betrag")
    def amount(self, payment: Payment) -> str:
        return Money(payment.amount_cents).format_de()
