from django.contrib import admin

from rathauskasse.core.admin import AuditedModelAdmin
from rathauskasse.organisations.models import BudgetLine, Department, Membership, Organisation


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ("name", "slug", "ags", "iban")
    search_fields = ("name", "slug", "ags")
    fieldsets = (
        (None, {"fields": ("slug", "name", "ags")}),
        ("Bankverbindung", {"fields": ("creditor_name", "iban", "bic", "girocode_reference")}),
        (
            "Anschrift und Kontakt",
            {"fields": ("street", "postcode", "city", "email", "phone", "website")},
        ),
        (
            "Kassenzeichen",
            {"fields": ("kz_prefix", "kz_year_digits", "kz_number_digits", "kz_check_algorithm")},
        ),
        ("Bürgerportal", {"fields": ("portal_host", "coat_of_arms")}),
        (
            "Rechtliche Seiten im Portal",
            {
                "fields": ("imprint", "privacy_policy", "accessibility_statement"),
                "description": "Klartext; Leerzeilen trennen Absätze.",
            },
        ),
    )


@admin.register(Department)
class DepartmentAdmin(AuditedModelAdmin):
    list_display = ("name", "code", "organisation")
    list_filter = ("organisation",)
    search_fields = ("name", "code")


@admin.register(BudgetLine)
class BudgetLineAdmin(AuditedModelAdmin):
    list_display = (
        "code",
        "name",
        "product",
        "account",
        "cost_centre",
        "is_active",
        "organisation",
    )
    list_filter = ("organisation", "is_active")
    search_fields = ("code", "name", "product", "account")


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ("user", "role", "department", "organisation")
    list_filter = ("organisation", "role")
    search_fields = ("user__username",)
