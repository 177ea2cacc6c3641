from django.contrib import admin

from rathauskasse.catalogue.models import Service
from rathauskasse.core.admin import AuditedModelAdmin


@admin.register(Service)
class ServiceAdmin(AuditedModelAdmin):
    list_display = ("name", "department", "fee_kind", "payment_policy", "is_active")
    list_filter = ("organisation", "department", "fee_kind", "payment_policy", "is_active")
    search_fields = ("name", "slug", "keywords", "leika_key")
    prepopulated_fields = {"slug": ("name",)}  # noqa: RUF012
    fieldsets = (
        (
            None,
            {"fields": ("organisation", "department", "slug", "name", "leika_key", "is_active")},
        ),
        ("Texte", {"fields": ("description", "requirements", "processing_time", "keywords")}),
        ("Formular", {"fields": ("form_definition",)}),
        (
            "Gebühr",
            {
                "fields": (
                    "fee_kind",
                    "fee_amount_cents",
                    "fee_unit_label",
                    "fee_quantity_field",
                    "fee_option_field",
                    "fee_option_amounts",
                    "fee_min_cents",
                    "fee_max_cents",
                    "budget_line",
                )
            },
        ),
        ("Bezahlung", {"fields": ("payment_policy", "payment_methods", "allows_overpayment")}),
    )
