from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from rathauskasse.api import payer, provider_hooks
from rathauskasse.api.v1.urls import api as api_v1

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api_v1.urls),
    path("xbezahldienste/", include("rathauskasse.api.xbezahldienste.urls")),
    path("zahlen/<uuid:public_id>/", payer.start, name="payment-start"),
    path("providers/<slug:provider>/notify/", provider_hooks.notify, name="provider-notify"),
    path("sandbox/", include("rathauskasse.providers.sandbox.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("konto/", include("allauth.urls")),
    path("verwaltung/", include("rathauskasse.backoffice.urls")),
    path("", include("rathauskasse.portal.urls")),
]
# Uploaded files (coats of arms) in the demo; production serves MEDIA_ROOT from the web server.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
