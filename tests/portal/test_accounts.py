"""Citizen accounts (django-allauth) as pages of the portal: the flows and the pages' markup.

Every allauth page extends the portal's layout, speaks German and draws its forms in KERN UX
markup with labels, hints, errors and an error summary (templates/allauth/ in the portal app).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from django.utils import translation

from rathauskasse.applications import services as applications
from rathauskasse.core.models import User
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.payments.models import Payment
from rathauskasse.portal import session
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "Rathaus-Kasse-2026"
CONFIRM_LINK = re.compile(r"(http://testserver)(/konto/confirm-email/[^/\s]+/)")
RESET_LINK = re.compile(r"(http://testserver)(/konto/password/reset/key/[^/\s]+/)")
LOGGED_IN = "_auth_user_id"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """allauth counts logins, sign-ups and mails per address in the cache: start each test anew."""
    cache.clear()
    yield
    cache.clear()


def citizen(email: str = "erika@example.org", *, verified: bool = True) -> User:
    user = User.objects.create_user(username=email, email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def german(msgid: str) -> str:
    """allauth's own German for one of its texts (and proof that there is one)."""
    with translation.override("de"):
        text = translation.gettext(msgid)
    assert text != msgid, f"no German translation of {msgid!r}"
    return text


# --- reading the HTML ---------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {name: value or "" for name, value in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def element_by_id(html: str, element_id: str) -> dict[str, str]:
    matches = [attrs for _tag, attrs in elements(html) if attrs.get("id") == element_id]
    assert len(matches) == 1, f"{len(matches)} elements with id {element_id!r}"
    return matches[0]


def main_of(html: str) -> str:
    match = re.search(r"<main\b.*?</main>", html, re.S)
    assert match, "no <main>"
    return match.group(0)


def assert_portal_page(response: HttpResponse, org: Organisation, heading_msgid: str) -> str:
    """A 200 page of the portal: its layout, allauth's German heading, KERN forms, no script."""
    assert response.status_code == 200
    html = response.content.decode()
    # The portal's layout, with the organisation in the header and the title.
    assert '<html lang="de">' in html
    assert f'<span class="portal-brand__name">{org.name}</span>' in html
    assert re.search(rf"<title>[^<]* – {re.escape(org.name)}</title>", html)
    assert 'class="portal-skip" href="#inhalt"' in html
    assert f"<strong>{german('Menu:')}</strong>" not in html  # allauth's own layout
    # allauth's page in German, with KERN's heading.
    main = main_of(html)
    assert f'<h1 class="kern-heading-large">{german(heading_msgid)}</h1>' in main
    found = elements(html)
    # Nothing the content security policy would refuse, nothing from another host.
    assert not [tag for tag, _attrs in found if tag == "script"]
    assert not [attrs for _tag, attrs in found if "style" in attrs]
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # Every form of the page is checked on the server and drawn like the portal's forms.
    for tag, attrs in elements(main):
        if tag == "form" and attrs.get("id") != "logout-from-stage":
            assert "portal-form" in attrs.get("class", ""), attrs
            assert "novalidate" in attrs, attrs
        if tag == "button":
            assert "kern-btn" in attrs.get("class", ""), attrs
    # Every visible input is a KERN input with a label of its own.
    labelled = {attrs.get("for") for tag, attrs in found if tag == "label"}
    for tag, attrs in elements(main):
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            assert attrs.get("class", "").startswith("kern-form-"), attrs
            assert attrs.get("id") in labelled, attrs
    return html


def sign_up(client: Client, email: str = "erika@example.org") -> HttpResponse:
    return client.post(
        "/konto/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def log_in(
    client: Client, email: str = "erika@example.org", password: str = PASSWORD
) -> HttpResponse:
    return client.post("/konto/login/", {"login": email, "password": password})


# --- sign-up and verification -------------------------------------------------------------------


def test_sign_up_sends_a_verification_mail_and_no_login_before_verifying(
    client: Client, org: Organisation, mailoutbox: list[mail.EmailMessage]
) -> None:
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"] == "/konto/confirm-email/"
    assert LOGGED_IN not in client.session
    user = User.objects.get(email="erika@example.org")
    assert not EmailAddress.objects.get(user=user).verified

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["erika@example.org"]
    assert message.subject == "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    assert f"Bürgerkonto bei {org.name}" in message.body  # the portal's own "Sie" wording
    assert message.body.rstrip().endswith(org.name)
    # An absolute link (Django's Sites framework is not installed: the request's host is used).
    assert CONFIRM_LINK.search(message.body)

    sent = client.get(response["Location"])
    assert_portal_page(sent, org, "Verify Your Email Address")

    # The right password is not enough while the address is unconfirmed.
    response = log_in(client)
    assert response.status_code == 302
    assert response["Location"] == "/konto/confirm-email/"
    assert LOGGED_IN not in client.session
    mine = client.get("/konto/meine/")
    assert mine.status_code == 302
    assert mine["Location"].startswith("/konto/login/")


def test_the_link_in_the_mail_verifies_logs_in_and_leads_to_my_items(
    client: Client, org: Organisation, mailoutbox: list[mail.EmailMessage]
) -> None:
    sign_up(client)
    link = CONFIRM_LINK.search(mailoutbox[0].body)
    assert link
    path = link.group(2)

    page = client.get(path)  # confirming takes a POST (ACCOUNT_CONFIRM_EMAIL_ON_GET is off)
    html = assert_portal_page(page, org, "Confirm Email Address")
    # allauth signs a fresh key for the form (its timestamp has one-second resolution), so the
    # form's key equals the mail's only within the same second: any confirm-email action will do.
    assert re.search(r'action="/konto/confirm-email/[-:\w]+/"', html), html
    assert LOGGED_IN not in client.session

    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == "/konto/meine/"
    assert EmailAddress.objects.get(email="erika@example.org").verified
    assert client.session[LOGGED_IN] == str(User.objects.get(email="erika@example.org").pk)

    mine = client.get(response["Location"])
    assert mine.status_code == 200
    assert (
        '<h1 class="kern-heading-large">Meine Anträge und Zahlungen</h1>' in mine.content.decode()
    )

    # A verified account logs in with its password from now on.
    client.logout()
    response = log_in(client)
    assert response.status_code == 302
    assert response["Location"] == "/konto/meine/"


def test_an_invalid_confirmation_link_is_a_portal_page(client: Client, org: Organisation) -> None:
    page = client.get("/konto/confirm-email/gibt-es-nicht/")
    html = assert_portal_page(page, org, "Confirm Email Address")
    assert "<form" not in main_of(html)


# --- logging in ---------------------------------------------------------------------------------


def test_the_login_form_labels_its_fields_and_names_their_purpose(
    client: Client, org: Organisation
) -> None:
    html = assert_portal_page(client.get("/konto/login/"), org, "Sign In")
    login = element_by_id(html, "id_login")
    assert login["type"] == "email"
    assert login["autocomplete"] == "email"
    assert "required" in login
    assert "placeholder" not in login  # the label names the field
    password = element_by_id(html, "id_password")
    assert password["type"] == "password"
    assert password["autocomplete"] == "current-password"
    assert "value" not in password
    # The hint ("forgot your password?") belongs to the password field.
    assert password["aria-describedby"] == "id_password-hint"
    assert 'href="/konto/password/reset/"' in html
    assert element_by_id(html, "id_remember")["class"] == "kern-form-check__checkbox"
    assert '<span class="portal-required" aria-hidden="true"> *</span>' in html
    assert '<label class="kern-label" for="id_login">' in html
    assert 'class="kern-btn kern-btn--primary" type="submit"' in html


def test_a_wrong_password_shows_a_german_error_and_the_error_summary(
    client: Client, org: Organisation
) -> None:
    citizen()
    response = log_in(client, password="falsches-Passwort")
    html = assert_portal_page(response, org, "Sign In")
    assert LOGGED_IN not in client.session
    message = german("The email address and/or password you specified are not correct.")
    assert re.search(r"<title>Fehler: ", html)
    summary = re.search(
        r'<div class="kern-alert kern-alert--danger portal-error-summary".*?</ul>', html, re.S
    )
    assert summary, "no error summary"
    assert 'role="alert"' in summary.group(0)
    assert f'<a class="kern-link" href="#id_login">{message}</a>' in summary.group(0)
    # The summary comes first on the page, and the field it links to tells the message too.
    assert html.index("portal-error-summary") < html.index("<h1")
    login = element_by_id(html, "id_login")
    assert login["value"] == "erika@example.org"
    error = element_by_id(html, login["aria-describedby"])
    assert "kern-error" in error["class"]
    assert "value" not in element_by_id(html, "id_password")  # a password is never sent back


def test_field_errors_are_marked_on_their_field_and_listed_in_the_summary(
    client: Client, org: Organisation
) -> None:
    response = client.post(
        "/konto/signup/", {"email": "kein-at-zeichen", "password1": "kurz", "password2": "kurz"}
    )
    html = assert_portal_page(response, org, "Sign Up")
    assert not User.objects.exists()
    summary = re.search(
        r'class="kern-alert kern-alert--danger portal-error-summary".*?</ul>', html, re.S
    )
    assert summary
    assert 'href="#id_email"' in summary.group(0)
    assert 'href="#id_password1"' in summary.group(0)
    for field in ("id_email", "id_password1"):
        attrs = element_by_id(html, field)
        assert attrs["aria-invalid"] == "true"
        assert f"{field}-error" in attrs["aria-describedby"].split()
        assert "kern-error" in element_by_id(html, f"{field}-error")["class"]
    password1 = element_by_id(html, "id_password1")
    assert password1["autocomplete"] == "new-password"
    assert password1["aria-describedby"] == "id_password1-hint id_password1-error"
    assert element_by_id(html, "id_password2")["autocomplete"] == "new-password"
    assert element_by_id(html, "id_email")["value"] == "kein-at-zeichen"


# --- resetting the password ---------------------------------------------------------------------


def test_password_reset_mail_and_setting_a_new_password(
    client: Client, org: Organisation, mailoutbox: list[mail.EmailMessage]
) -> None:
    user = citizen()
    page = client.get("/konto/password/reset/")
    html = assert_portal_page(page, org, "Password Reset")
    assert element_by_id(html, "id_email")["autocomplete"] == "email"

    response = client.post("/konto/password/reset/", {"email": "erika@example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/konto/password/reset/done/"
    assert_portal_page(client.get(response["Location"]), org, "Password Reset")

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["erika@example.org"]
    assert message.subject == "Neues Passwort für Ihr Bürgerkonto"
    link = RESET_LINK.search(message.body)
    assert link, message.body

    # allauth moves the key from the address into the session before showing the form.
    response = client.get(link.group(2))
    assert response.status_code == 302
    form_path = response["Location"]
    html = assert_portal_page(client.get(form_path), org, "Change Password")
    assert element_by_id(html, "id_password1")["autocomplete"] == "new-password"
    assert element_by_id(html, "id_password2")["autocomplete"] == "new-password"

    mismatch = client.post(form_path, {"password1": "Neu-und-lang-2026", "password2": "anders"})
    html = assert_portal_page(mismatch, org, "Change Password")
    assert 'href="#id_password2"' in html
    assert element_by_id(html, "id_password2")["aria-invalid"] == "true"

    new_password = "Neu-und-lang-2026"
    response = client.post(form_path, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    assert response["Location"] == "/konto/password/reset/key/done/"
    assert_portal_page(client.get(response["Location"]), org, "Change Password")
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert not user.check_password(PASSWORD)

    # The link works once; the old password no longer opens the account, the new one does.
    used = client.get(link.group(2), follow=True)
    assert_portal_page(used, org, "Bad Token")
    assert log_in(client).status_code == 200
    assert LOGGED_IN not in client.session
    response = log_in(client, password=new_password)
    assert response["Location"] == "/konto/meine/"
    assert client.session[LOGGED_IN] == str(user.pk)


# --- every page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/konto/login/", "Sign In"),
        ("/konto/signup/", "Sign Up"),
        ("/konto/password/reset/", "Password Reset"),
        ("/konto/password/reset/done/", "Password Reset"),
        ("/konto/password/reset/key/1-ungueltig/", "Bad Token"),
        ("/konto/password/reset/key/done/", "Change Password"),
        ("/konto/confirm-email/", "Verify Your Email Address"),
        ("/konto/confirm-email/ungueltig/", "Confirm Email Address"),
        ("/konto/inactive/", "Account Inactive"),
    ],
)
def test_every_page_for_guests_is_a_german_kern_page_of_the_portal(
    client: Client, org: Organisation, path: str, heading: str
) -> None:
    assert_portal_page(client.get(path), org, heading)


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/konto/email/", "Email Addresses"),
        ("/konto/password/change/", "Change Password"),
        ("/konto/logout/", "Sign Out"),
        ("/konto/reauthenticate/", "Confirm Access"),
        # Logged in, the reset page first says who is logged in (allauth's alert element).
        ("/konto/password/reset/", "Password Reset"),
    ],
)
def test_every_page_of_an_account_is_a_german_kern_page_of_the_portal(
    client: Client, org: Organisation, path: str, heading: str
) -> None:
    client.force_login(citizen(), backend="allauth.account.auth_backends.AuthenticationBackend")
    html = assert_portal_page(client.get(path), org, heading)
    if path == "/konto/password/reset/":
        assert 'class="kern-alert kern-alert--info"' in main_of(html)


def test_the_email_addresses_are_a_labelled_group_of_radio_buttons(
    client: Client, org: Organisation
) -> None:
    client.force_login(citizen(), backend="allauth.account.auth_backends.AuthenticationBackend")
    html = assert_portal_page(client.get("/konto/email/"), org, "Email Addresses")
    fieldset = re.search(
        r'<fieldset class="kern-fieldset[^"]*">\s*<legend[^>]*>([^<]+)</legend>', html
    )
    assert fieldset
    assert fieldset.group(1) == german(
        "The following email addresses are associated with your account:"
    )
    radio = element_by_id(html, "email_radio_0")
    assert radio["type"] == "radio"
    assert radio["class"] == "kern-form-check__radio"
    assert radio["value"] == "erika@example.org"
    assert '<span class="kern-badge kern-badge--success">' in html
    assert element_by_id(html, "id_email")["autocomplete"] == "email"


def test_the_password_change_form_names_current_and_new_passwords(
    client: Client, org: Organisation
) -> None:
    client.force_login(citizen(), backend="allauth.account.auth_backends.AuthenticationBackend")
    html = assert_portal_page(client.get("/konto/password/change/"), org, "Change Password")
    assert element_by_id(html, "id_oldpassword")["autocomplete"] == "current-password"
    assert element_by_id(html, "id_password1")["autocomplete"] == "new-password"
    assert element_by_id(html, "id_password2")["autocomplete"] == "new-password"


# --- a guest's items become the account's -------------------------------------------------------


def test_a_guests_application_and_payment_belong_to_the_account_after_login(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    user = citizen()
    service = factories.service(org, department, budget_line)
    application = applications.submit_application(
        actor=factories.ACTOR,
        service=service,
        data={"name": "Erika Mustermann", "pages": 2},
        applicant=applications.Applicant(name="Erika Mustermann"),
        submission_key="entwurf-1",
    )
    payment = factories.payment(org, factories.receivable(org, department, budget_line, 3070))
    someone_elses = factories.payment(org, factories.receivable(org, department, budget_line, 500))
    assert application.user is None
    assert payment.user is None

    # What this browser created as a guest (portal.session.remember).
    guest = client.session
    guest[session.OWNED_APPLICATIONS] = [str(application.public_id)]
    guest[session.OWNED_PAYMENTS] = [str(payment.public_id)]
    guest.save()

    response = log_in(client)
    assert response["Location"] == "/konto/meine/"

    payment.refresh_from_db()
    application.refresh_from_db()
    someone_elses.refresh_from_db()
    assert payment.user == user
    assert application.user == user
    assert someone_elses.user is None
    mine = client.get("/konto/meine/").content.decode()
    assert application.reference in mine
    assert f'href="/zahlung/{payment.public_id}/"' in mine


def test_items_claimed_by_one_account_are_not_taken_by_another(
    client: Client, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    first = citizen("erika@example.org")
    citizen("max@example.org")
    payment = factories.payment(org, factories.receivable(org, department, budget_line, 3070))
    Payment.objects.filter(pk=payment.pk).update(user=first)

    guest = client.session
    guest[session.OWNED_PAYMENTS] = [str(payment.public_id)]
    guest.save()
    log_in(client, "max@example.org")

    payment.refresh_from_db()
    assert payment.user == first


def test_signing_up_and_confirming_in_the_same_browser_keeps_the_guests_payment(
    client: Client,
    org: Organisation,
    department: Department,
    budget_line: BudgetLine,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    payment = factories.payment(org, factories.receivable(org, department, budget_line, 3070))
    guest = client.session
    guest[session.OWNED_PAYMENTS] = [str(payment.public_id)]
    guest.save()

    sign_up(client)
    payment.refresh_from_db()
    assert payment.user is None  # not before the address is confirmed
    link = CONFIRM_LINK.search(mailoutbox[0].body)
    assert link
    assert client.post(link.group(2))["Location"] == "/konto/meine/"

    payment.refresh_from_db()
    assert payment.user == User.objects.get(email="erika@example.org")
