from django.contrib import admin

from rathauskasse.applications.models import Application
from rathauskasse.core.admin import ReadOnlyAdmin


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    """Applications are written by the portal; the back office (a later issue) works on them."""

    list_display = ("reference", "service", "applicant_name", "status", "fee_cents", "created_at")
    list_filter = ("status", "service__department", "service")
    search_fields = ("reference", "applicant_name", "applicant_email")
    date_hierarchy = "created_at"
