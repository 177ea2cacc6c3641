from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from rathauskasse.api import provider_hooks

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("providers/<slug:provider>/notify/", provider_hooks.notify, name="provider-notify"),
    path("sandbox/", include("rathauskasse.providers.sandbox.urls")),
]
