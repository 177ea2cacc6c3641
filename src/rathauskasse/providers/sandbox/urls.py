from django.urls import path

from rathauskasse.providers.sandbox import views

app_name = "sandbox"
urlpatterns = [
    path("bezahlen/<str:reference>/", views.pay, name="pay"),
]
