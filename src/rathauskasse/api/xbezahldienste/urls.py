"""URLs of XBezahldienste (mounted at /xbezahldienste/): the API and the payer's return page."""

from django.urls import path

from rathauskasse.api.xbezahldienste import views
from rathauskasse.api.xbezahldienste.api import api

urlpatterns = [
    path("v1/", api.urls),
    path("zurueck/<str:transaction_id>/", views.returned, name="xbezahldienste-return"),
]
