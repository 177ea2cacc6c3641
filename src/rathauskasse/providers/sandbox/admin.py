from django.contrib import admin

from rathauskasse.core.admin import ReadOnlyAdmin
from rathauskasse.providers.sandbox.models import SandboxTransaction


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(ReadOnlyAdmin):
    list_display = ("reference", "created_at", "amount_cents", "state", "payer_method")
    list_filter = ("state",)
    search_fields = ("reference", "payment_reference")
