"""Building the demo city through the domains' own services, all in one transaction.

Nothing here writes a row directly: the demo goes through the same rules, postings and audit
entries as real use, so what it shows is what the product does. It either creates everything or,
when the organisation exists already, nothing at all.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from django.db import transaction

from rathauskasse.api import services as api_services
from rathauskasse.api.models import Scope, XBezahldiensteEndpoint
from rathauskasse.api.xbezahldienste import services as xbezahldienste
from rathauskasse.catalogue.services import create_service
from rathauskasse.core import audit
from rathauskasse.core.models import User
from rathauskasse.demo import data
from rathauskasse.finance import presets
from rathauskasse.finance import selectors as finance_selectors
from rathauskasse.finance import services as finance
from rathauskasse.finance.models import ExportProfile, OpenItemProfile
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations import services as organisations
from rathauskasse.organisations.models import BudgetLine, Department, Organisation, Role
from rathauskasse.payments import services as payments
from rathauskasse.payments.models import PaymentStatus, RefundState
from rathauskasse.providers.sandbox import server as sandbox
from rathauskasse.receivables import notices, reminders
from rathauskasse.receivables.models import (
    NoticeTemplate,
    Receivable,
    ReceivableSource,
    ReceivableStatus,
    ReminderPolicy,
)
from rathauskasse.receivables.services import Debtor, LineInput, create_receivable
from rathauskasse.reconciliation import services as reconciliation
from rathauskasse.reconciliation.models import BankAccount

ACTOR = audit.Actor(label="demo")

MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


class DemoFailed(Exception):
    """The demo data did not turn out as intended; the transaction is rolled back."""


@dataclass(frozen=True, slots=True)
class Loaded:
    organisation: Organisation
    #: False when the city existed already; then nothing was written.
    created: bool
    #: Demo user names that existed before; they were neither changed nor given a role.
    kept_usernames: tuple[str, ...] = ()
    #: The demo's test API key, known only when the city was just created.
    api_key: str | None = None
    #: The online service's XBezahldienste pair (Basic user "demo").
    xbezahldienste: XBezahldiensteEndpoint | None = None


def find_demo() -> Organisation | None:
    return Organisation.objects.filter(slug=data.ORGANISATION["slug"]).first()


def calendar_words(today: dt.date) -> dict[str, str]:
    """The words a notice's purpose may name, e.g. {"month": "November 2026"}."""
    next_month = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return {
        "year": str(today.year),
        "next_year": str(today.year + 1),
        "month": f"{MONTHS[today.month - 1]} {today.year}",
        "next_month": f"{MONTHS[next_month.month - 1]} {next_month.year}",
    }


@transaction.atomic
def load(*, today: dt.date) -> Loaded:
    """Create the demo city, or find it (and write nothing) when it exists already."""
    # Checked inside the transaction: on SQLite it begins IMMEDIATE, so a second loader started at
    # the same moment waits here and then finds the city; on PostgreSQL the unique slug refuses it.
    existing = find_demo()
    if existing is not None:
        # A city made before XBezahldienste, notices or open-item imports existed gets
        # them now; nothing else changes.
        ensure_notices(existing, today=today)
        ensure_open_item_profile(existing)
        ensure_bank_account(existing)
        ensure_export_profiles(existing)
        return Loaded(
            organisation=existing, created=False, xbezahldienste=ensure_xbezahldienste(existing)
        )
    organisation = organisations.create_organisation(actor=ACTOR, **data.ORGANISATION)
    departments = {
        spec["name"]: organisations.create_department(
            actor=ACTOR, organisation=organisation, **spec
        )
        for spec in data.DEPARTMENTS
    }
    lines = {
        code: organisations.create_budget_line(
            actor=ACTOR,
            organisation=organisation,
            code=code,
            name=name,
            product=product,
            account=account,
            cost_centre=cost_centre,
        )
        for code, (name, product, account, cost_centre) in data.BUDGET_LINES.items()
    }
    for spec in data.SERVICES:
        fields = dict(spec)
        fields["department"] = departments[spec["department"]]
        if "budget_line" in spec:
            fields["budget_line"] = lines[spec["budget_line"]]
        create_service(actor=ACTOR, organisation=organisation, **fields)

    words = calendar_words(today)
    for notice in data.NOTICES:
        _create_notice(
            organisation=organisation,
            department=departments[notice.department],
            line=lines[notice.budget_line],
            purpose=notice.purpose.format(**words),
            cents=notice.cents,
            debtor=notice.debtor,
            due_date=today + dt.timedelta(days=notice.due_in_days),
        )
    for paid in data.PAID:
        _pay(
            organisation=organisation,
            department=departments[paid.department],
            line=lines[paid.budget_line],
            spec=paid,
            purpose=paid.purpose.format(**words),
            today=today,
        )
    kept = _create_staff(organisation=organisation, departments=departments)
    _, api_key = api_services.create_api_key(
        actor=ACTOR,
        organisation=organisation,
        name="Demo-Fachverfahren",
        mode="test",
        scopes=Scope.values,
        token=os.environ.get("RATHAUSKASSE_DEMO_API_KEY") or None,
    )

    pair = ensure_xbezahldienste(organisation)
    ensure_notices(organisation, today=today)
    ensure_open_item_profile(organisation)
    ensure_bank_account(organisation)
    ensure_export_profiles(organisation)

    report = ledger_selectors.check_integrity(organisation_id=organisation.pk)
    if not report.ok:
        raise DemoFailed("Das Hauptbuch ist nicht stimmig: " + " ".join(report.problems))
    return Loaded(
        organisation=organisation,
        created=True,
        kept_usernames=kept,
        api_key=api_key,
        xbezahldienste=pair,
    )


def ensure_xbezahldienste(organisation: Organisation) -> XBezahldiensteEndpoint:
    """The demo's XBezahldienste pair, created once; an existing one is left as it is."""
    spec = dict(data.XBEZAHLDIENSTE)
    existing = xbezahldienste.find_endpoint(
        originator_id=spec["originator_id"], endpoint_id=spec["endpoint_id"]
    )
    if existing is not None:
        return existing
    endpoint, _ = xbezahldienste.create_endpoint(
        actor=ACTOR,
        organisation=organisation,
        name=spec["name"],
        originator_id=spec["originator_id"],
        endpoint_id=spec["endpoint_id"],
        department=Department.objects.get(organisation=organisation, name=spec["department"]),
        default_budget_line=BudgetLine.objects.get(
            organisation=organisation, code=spec["default_budget_line"]
        ),
        method=spec["method"],
        booking_data_mapping=spec["booking_data_mapping"],
        required_booking_keys=spec["required_booking_keys"],
        basic_username=spec["basic_username"],
        basic_password=spec["basic_password"],
    )
    return endpoint


def ensure_notices(organisation: Organisation, *, today: dt.date) -> None:
    """Letters for the demo's open notices, the city's templates and reminder rules, each once.

    The open notices get their Zahlungsaufforderung (marked for print: the demo's debtors have
    no e-mail address), and those long overdue their Zahlungserinnerung with the fee, so that
    both letters can be downloaded in the admin.
    """
    fee_line = BudgetLine.objects.filter(organisation=organisation, code="611020.456300").first()
    if fee_line is None:  # a city made before the fee's budget line existed
        name, product, account, cost_centre = data.BUDGET_LINES["611020.456300"]
        fee_line = organisations.create_budget_line(
            actor=ACTOR,
            organisation=organisation,
            code="611020.456300",
            name=name,
            product=product,
            account=account,
            cost_centre=cost_centre,
        )
    for text in data.NOTICE_TEMPLATES:
        if not NoticeTemplate.objects.filter(
            organisation=organisation, kind=text["kind"], service__isnull=True
        ).exists():
            notices.create_template(
                actor=ACTOR,
                organisation=organisation,
                kind=text["kind"],
                subject=text["subject"],
                body=text["body"],
            )
    for spec in data.REMINDER_POLICIES:
        department = (
            Department.objects.get(organisation=organisation, name=spec["department"])
            if spec["department"]
            else None
        )
        if not ReminderPolicy.objects.filter(
            organisation=organisation, department=department
        ).exists():
            reminders.create_policy(
                actor=ACTOR,
                organisation=organisation,
                department=department,
                days_overdue=spec["days_overdue"],
                pay_within_days=spec["pay_within_days"],
                fee_cents=spec["fee_cents"],
                fee_budget_line=fee_line if spec.get("fee_budget_line") else None,
            )
    without_letter = list(
        Receivable.objects.filter(
            organisation=organisation,
            source=ReceivableSource.NOTICE,
            status=ReceivableStatus.OPEN,
            notices__isnull=True,
        ).values_list("pk", flat=True)
    )
    if not without_letter:
        return
    notices.issue_batch(receivables=without_letter, actor=ACTOR)
    for pk in reminders.due_for_reminder(organisation=organisation, day=today):
        reminders.remind(actor=ACTOR, receivable=Receivable(pk=pk), day=today)


def ensure_open_item_profile(organisation: Organisation) -> OpenItemProfile:
    """The profile for the finance system's open items, created once; an existing one is kept."""
    spec = dict(data.OPEN_ITEM_PROFILE)
    existing = finance_selectors.profiles(organisation=organisation).filter(name=spec["name"])
    if existing.exists():
        return existing.get()
    spec["default_department"] = Department.objects.get(
        organisation=organisation, name=spec["default_department"]
    )
    return finance.create_profile(actor=ACTOR, organisation=organisation, **spec)


def ensure_bank_account(organisation: Organisation) -> BankAccount:
    """The city's account for bank statement imports (its IBAN), created once."""
    existing = BankAccount.objects.filter(organisation=organisation, iban=organisation.iban)
    if existing.exists():
        return existing.get()
    return reconciliation.create_bank_account(
        actor=ACTOR, organisation=organisation, iban=organisation.iban, name="Girokonto Stadtkasse"
    )


def ensure_export_profiles(organisation: Organisation) -> list[ExportProfile]:
    """The shipped export presets as the city's profiles, created once; existing ones are kept."""
    made = []
    for name in presets.PRESETS:
        existing = finance_selectors.export_profiles(organisation=organisation).filter(name=name)
        if existing.exists():
            made.append(existing.get())
            continue
        fields = presets.fields(name)
        if name in data.EXPORT_DAILY_AT:
            fields["daily_at"] = data.EXPORT_DAILY_AT[name]
        made.append(finance.create_export_profile(actor=ACTOR, organisation=organisation, **fields))
    return made


def _create_notice(
    *,
    organisation: Organisation,
    department: Department,
    line: BudgetLine,
    purpose: str,
    cents: int,
    debtor: data.Person,
    due_date: dt.date,
    allows_overpayment: bool = False,
) -> Receivable:
    return create_receivable(
        actor=ACTOR,
        organisation=organisation,
        department=department,
        lines=[LineInput(text=purpose, amount_cents=cents, budget_line=line)],
        purpose=purpose,
        debtor=Debtor(
            name=debtor.name, street=debtor.street, postcode=debtor.postcode, city=debtor.city
        ),
        source=ReceivableSource.NOTICE,
        due_date=due_date,
        allows_overpayment=allows_overpayment,
    )


def _pay(
    *,
    organisation: Organisation,
    department: Department,
    line: BudgetLine,
    spec: data.PaidNotice,
    purpose: str,
    today: dt.date,
) -> None:
    """Pay a notice the way a citizen does: start, decide on the sandbox's page, poll."""
    overpaid = spec.paid_cents is not None and spec.paid_cents > spec.cents
    receivable = _create_notice(
        organisation=organisation,
        department=department,
        line=line,
        purpose=purpose,
        cents=spec.cents,
        debtor=spec.debtor,
        due_date=today,
        allows_overpayment=overpaid,
    )
    payment = payments.create_payment(
        actor=ACTOR,
        organisation=organisation,
        allocations=[payments.AllocationInput(receivable, spec.paid_cents)],
        provider="sandbox",
        method=spec.method,
    )
    payments.start_payment(payment=payment, actor=ACTOR)
    sandbox.decide(
        reference=payment.provider_reference,
        outcome=sandbox.Outcome.SUCCEED,
        payer_method=spec.method,
    )
    # A status poll rather than the sandbox's notification: that one is only delivered after the
    # commit, over HTTP, to a server that may not be running yet.
    payment = payments.sync_payment(payment=payment)
    if payment.status != PaymentStatus.SUCCEEDED:
        raise DemoFailed(f"Die Demo-Zahlung für „{purpose}“ endete mit „{payment.status}“.")
    if spec.refund_cents:
        refund = payments.refund_payment(
            actor=ACTOR, payment=payment, amount_cents=spec.refund_cents, reason=spec.refund_reason
        )
        if refund.status != RefundState.SUCCEEDED:
            raise DemoFailed(f"Die Demo-Erstattung für „{purpose}“ endete mit „{refund.status}“.")


def _create_staff(
    *, organisation: Organisation, departments: dict[str, Department]
) -> tuple[str, ...]:
    """Create the demo accounts; a name that is taken already is left alone (and returned)."""
    taken = set(
        User.objects.filter(username__in=[spec.username for spec in data.STAFF]).values_list(
            "username", flat=True
        )
    )
    for spec in data.STAFF:
        if spec.username in taken:
            # Perhaps the operator's own superuser from `createsuperuser`: the demo must not
            # reset its password, nor hand it a role nobody asked for.
            continue
        user = User.objects.create_user(
            spec.username,
            email=f"{spec.username}@musterstadt.example",
            password=spec.password,
            first_name=spec.first_name,
            last_name=spec.last_name,
            is_staff=spec.is_staff,
            is_superuser=spec.is_superuser,
        )
        audit.record(
            actor=ACTOR,
            action="user.created",
            obj=user,
            organisation_id=organisation.pk,
            after={
                "username": spec.username,
                "is_staff": spec.is_staff,
                "is_superuser": spec.is_superuser,
            },
        )
        organisations.grant_role(
            actor=ACTOR,
            organisation=organisation,
            user=user,
            role=Role(spec.role),
            department=departments[spec.department] if spec.department else None,
        )
    return tuple(spec.username for spec in data.STAFF if spec.username in taken)
