from django.contrib import admin

from rathauskasse.core.admin import ReadOnlyAdmin, ReadOnlyInline
from rathauskasse.core.money import Money
from rathauskasse.ledger.models import Account, JournalEntry, JournalLine


class JournalLineInline(ReadOnlyInline):
    model = JournalLine
    fields = ("account", "debit", "credit", "open_item_id")
    readonly_fields = fields

    @admin.display(description="Soll")
    def debit(self, line: JournalLine) -> str:
        return Money(line.amount_cents).format_de() if line.amount_cents > 0 else ""

    @admin.display(description="Haben")
    def credit(self, line: JournalLine) -> str:
        return Money(-line.amount_cents).format_de() if line.amount_cents < 0 else ""


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "booking_date", "kind", "text", "reference", "reverses")
    list_filter = ("organisation", "kind", "booking_date")
    search_fields = ("text", "reference", "idempotency_key")
    date_hierarchy = "booking_date"
    inlines = (JournalLineInline,)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("key", "name", "kind", "organisation")
    list_filter = ("organisation", "kind")
