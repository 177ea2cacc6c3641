"""Admin building blocks: audited edits and read-only views of append-only records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse

from rathauskasse.core import audit
from rathauskasse.core.models import AuditEntry, User

#: Form fields whose values never go into the audit log, only the fact that they changed.
_SECRET_FIELDS = frozenset({"password", "password1", "password2"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str | int | float | bool | type(None) | list | dict):
        return value
    return str(value)


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every change made in the admin also lands in the platform's audit log."""

    #: Fields whose values are logged as "(geändert)" only; subclasses add their own secrets.
    secret_fields: frozenset[str] = _SECRET_FIELDS

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:  # noqa: FBT001
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            assert isinstance(request.user, User)
            audit.record(
                actor=audit.Actor.user(request.user),
                action=f"{obj._meta.model_name}.{'changed' if change else 'created'}_in_admin",
                obj=obj,
                organisation_id=getattr(obj, "organisation_id", None),
                after={
                    name: "(geändert)"
                    if name in self.secret_fields
                    else _jsonable(getattr(obj, name, form.cleaned_data.get(name)))
                    for name in form.changed_data
                },
            )


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records that only services write: visible in the admin, never edited there."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.site_header = "Rathauskasse – Verwaltung"
admin.site.site_title = "Rathauskasse"
admin.site.index_title = "Technische Verwaltung"


@admin.register(User)
class AuditedUserAdmin(AuditedModelAdmin, UserAdmin[User]):
    """Staff accounts: every change is audited, a new password as the fact, never its value."""

    def user_change_password(
        self,
        request: HttpRequest,
        id: str,  # noqa: A002 - the name Django passes it by
        form_url: str = "",
    ) -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if response.status_code == 302:  # saved; a form with errors is shown again with 200
            assert isinstance(request.user, User)
            audit.record(
                actor=audit.Actor.user(request.user),
                action="user.password_changed_in_admin",
                object_type="core.user",
                object_id=id,
            )
        return response


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "action", "object_id")
    date_hierarchy = "created_at"
