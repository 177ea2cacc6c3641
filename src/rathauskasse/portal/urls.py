from django.urls import path

from rathauskasse.portal.views import account, apply, catalogue, notices, pages, payments

app_name = "portal"

urlpatterns = [
    path("", pages.home, name="home"),
    path("leistungen/", catalogue.service_list, name="services"),
    path("leistungen/<slug:slug>/", catalogue.service_detail, name="service"),
    path("leistungen/<slug:slug>/antrag/", apply.apply_form, name="apply"),
    path("leistungen/<slug:slug>/antrag/<str:token>/", apply.apply_review, name="apply-review"),
    path("antraege/<uuid:public_id>/", apply.application_detail, name="application"),
    path("antraege/<uuid:public_id>/bezahlen/", apply.application_pay, name="application-pay"),
    path("bezahlen/", notices.pay_notices, name="pay"),
    path("bezahlen/entfernen/", notices.remove, name="pay-remove"),
    path("bezahlen/zahlen/", notices.checkout_basket, name="pay-checkout"),
    path("p/<str:token>/", notices.pay_link, name="pay-link"),
    path("p/<str:token>/zahlen/", notices.pay_link_checkout, name="pay-link-checkout"),
    path("p/<str:token>/girocode.svg", notices.pay_link_girocode, name="pay-link-girocode"),
    path("zahlung/<uuid:public_id>/", payments.payment_status, name="payment"),
    path("zahlung/<uuid:public_id>/quittung.pdf", payments.receipt, name="receipt"),
    path("zahlung/<uuid:public_id>/erneut/", payments.retry, name="payment-retry"),
    path("konto/meine/", account.mine, name="mine"),
    path("impressum/", pages.legal, {"page": "impressum"}, name="imprint"),
    path("datenschutz/", pages.legal, {"page": "datenschutz"}, name="privacy"),
    path("barrierefreiheit/", pages.legal, {"page": "barrierefreiheit"}, name="accessibility"),
]
