"""URLs of the REST API v1 (mounted at /api/v1/)."""

from rathauskasse.api.v1 import events, payments, receivables, reference
from rathauskasse.api.v1.base import api

api.add_router("/receivables", receivables.router)
api.add_router("/payments", payments.router)
api.add_router("", reference.router)
api.add_router("", events.router)

urlpatterns = api.urls
__all__ = ["api", "urlpatterns"]
