"""Background work of applications: the confirmation that an application has arrived."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django_tasks import task

from rathauskasse.applications.models import Application

BERLIN = ZoneInfo("Europe/Berlin")


@task()
def send_confirmation(application_id: int) -> bool:
    """Tell the applicant, when they gave an address, that the application was submitted."""
    application = Application.objects.select_related("service", "organisation").get(
        pk=application_id
    )
    if not application.applicant_email or application.submitted_at is None:
        return False
    organisation = application.organisation
    when = application.submitted_at.astimezone(BERLIN).strftime("%d.%m.%Y um %H:%M Uhr")
    body = "\n".join(
        [
            f"Guten Tag {application.applicant_name},",
            "",
            f"Ihr Antrag „{application.service.name}“ ist am {when} bei uns eingegangen.",
            f"Ihre Antragsnummer: {application.reference}",
            "",
            (
                "Die zuständige Stelle bearbeitet ihn und meldet sich bei Ihnen. Bitte geben Sie "
                "bei Rückfragen die Antragsnummer an."
            ),
            "",
            "Mit freundlichen Grüßen",
            organisation.name,
        ]
    )
    EmailMessage(
        subject=f"Ihr Antrag {application.reference} ist eingegangen",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[application.applicant_email],
    ).send()
    return True
