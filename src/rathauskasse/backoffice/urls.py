from django.urls import path

from rathauskasse.backoffice import clearing, views

app_name = "backoffice"

urlpatterns = [
    path("", views.home, name="home"),
    path("anmelden/", views.login, name="login"),
    path("abmelden/", views.logout, name="logout"),
    path("klaerung/", clearing.queue, name="clearing"),
    path("klaerung/<int:line_id>/", clearing.line, name="clearing-line"),
    path("klaerung/<int:line_id>/<slug:action>/", clearing.act, name="clearing-act"),
]
