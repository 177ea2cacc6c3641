from django.urls import path

from rathauskasse.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("", views.home, name="home"),
    path("anmelden/", views.login, name="login"),
    path("abmelden/", views.logout, name="logout"),
]
