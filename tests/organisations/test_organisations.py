"""Tenants: bank details and keys, creating the structure (audited), roles, and scoped reads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from rathauskasse.core import audit
from rathauskasse.core.errors import NotFound, ValidationFailed
from rathauskasse.core.models import AuditEntry, User
from rathauskasse.organisations import selectors
from rathauskasse.organisations.models import (
    BudgetLine,
    Department,
    Membership,
    Organisation,
    Role,
)
from rathauskasse.organisations.services import (
    create_budget_line,
    create_department,
    create_organisation,
    grant_role,
)
from rathauskasse.organisations.validators import (
    normalise_iban,
    validate_ags,
    validate_bic,
    validate_digits,
    validate_iban,
)
from tests import factories

ACTOR = factories.ACTOR


def _message(validator: Any, value: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return caught.value


# --- validators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE02120300000000202051",
        "DE89370400440532013000",
        "de02 1203 0000 0000 2020 51",
        " DE02\u00a01203 0000 0000 2020 51 ",
        "GB33BUKB20201555555555",
    ],
)
def test_valid_ibans(iban: str) -> None:
    validate_iban(iban)


@pytest.mark.parametrize(
    ("iban", "reason"),
    [
        ("DE02120300000000202052", "die prüfziffer stimmt nicht"),  # last digit changed
        ("DE0212030000000020205", "die länge stimmt nicht"),  # one digit short
        ("XX02120300000000202051", "das land ist unbekannt"),
        ("hallo", "unzulässige zeichen"),
        ("", "unzulässige zeichen"),
    ],
)
def test_invalid_ibans_say_so_in_german_with_the_reason(iban: str, reason: str) -> None:
    error = _message(validate_iban, iban)
    assert error.code == "invalid_iban"
    (message,) = error.messages
    assert message.startswith(f"„{iban}“ ist keine gültige IBAN (")
    assert reason in message.lower()


def test_normalise_iban_removes_all_whitespace_and_upper_cases() -> None:
    assert normalise_iban("de02 1203\t0000 0000\u00a02020 51\n") == "DE02120300000000202051"


@pytest.mark.parametrize(
    "bic", ["BYLADEM1001", "COBADEFFXXX", "COBADEFF", "cobadeff", " COBADEFF ", ""]
)
def test_valid_bics(bic: str) -> None:
    validate_bic(bic)


@pytest.mark.parametrize("bic", ["XYZ", "COBADEF", "COBAXXFF", "COBADEFFXXXX"])
def test_invalid_bics(bic: str) -> None:
    error = _message(validate_bic, bic)
    assert error.code == "invalid_bic"
    assert error.messages[0].startswith(f"„{bic}“ ist keine gültige BIC (")


@pytest.mark.parametrize("ags", ["05358008", "11000000", "09162000"])
def test_valid_ags(ags: str) -> None:
    validate_ags(ags)


@pytest.mark.parametrize(
    "ags", ["5358008", "053580080", "0535800a", "05 358 008", "", "\uff10" * 8, "\u0660" * 8]
)
def test_invalid_ags(ags: str) -> None:
    error = _message(validate_ags, ags)
    assert error.code == "invalid_ags"
    assert error.messages == ["Der Amtliche Gemeindeschlüssel hat genau acht Ziffern."]


def test_validate_digits() -> None:
    validate_digits("")
    validate_digits("0051")
    for bad in ("5a", "5 1", "\u0665", "-1"):
        error = _message(validate_digits, bad)
        assert error.messages == ["Nur Ziffern sind erlaubt."]
        assert error.code == "digits_only"


# --- creating organisations -------------------------------------------------------------------


@pytest.mark.django_db
class TestCreateOrganisation:
    def test_iban_and_bic_are_stored_compact_and_upper_case(self) -> None:
        org = factories.organisation(iban="de02 1203 0000 0000 2020 51", bic="byladem1001")
        org.refresh_from_db()
        assert org.iban == "DE02120300000000202051"
        assert org.bic == "BYLADEM1001"

    @pytest.mark.parametrize(
        ("overrides", "field", "stored"),
        [
            ({"bic": " byladem1001 "}, "bic", "BYLADEM1001"),
            (
                {"iban": "MT84 MALT 0110 0001 2345 MTLC AST0 01S", "bic": ""},
                "iban",
                "MT84MALT011000012345MTLCAST001S",
            ),
        ],
    )
    def test_valid_bank_details_with_spaces_are_normalised_not_refused(
        self, overrides: dict[str, str], field: str, stored: str
    ) -> None:
        org = factories.organisation(**overrides)
        org.refresh_from_db()
        assert getattr(org, field) == stored

    def test_creating_writes_an_audit_entry(self) -> None:
        admin = User.objects.create_user("admin", password="x")
        org = create_organisation(
            actor=audit.Actor.user(admin),
            slug="stadt-dueren",
            name="Stadt Düren",
            ags="05358008",
            creditor_name="Stadtkasse Düren",
            iban="de02 1203 0000 0000 2020 51",
        )
        entry = AuditEntry.objects.get(action="organisation.created")
        assert entry.organisation_id == org.pk
        assert entry.object_type == "organisations.organisation"
        assert entry.object_id == str(org.pk)
        assert entry.actor_label == "admin"
        assert entry.actor_id == admin.pk
        assert entry.after == {
            "slug": "stadt-dueren",
            "name": "Stadt Düren",
            "iban": "DE02120300000000202051",
        }

    def test_an_invalid_iban_is_refused_and_nothing_is_written(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            factories.organisation(slug="falsch", iban="DE02120300000000202052")
        assert set(caught.value.errors) == {"iban"}
        assert "ist keine gültige IBAN" in caught.value.errors["iban"]
        assert caught.value.field == "iban"
        assert not Organisation.objects.filter(slug="falsch").exists()
        assert not AuditEntry.objects.exists()

    @pytest.mark.parametrize(
        ("overrides", "field", "text"),
        [
            ({"bic": "XYZ"}, "bic", "keine gültige BIC"),
            ({"ags": "1234"}, "ags", "genau acht Ziffern"),
            ({"kz_prefix": "5a"}, "kz_prefix", "Nur Ziffern sind erlaubt."),
            ({"kz_check_algorithm": "crc32"}, "kz_check_algorithm", "crc32"),
            ({"kz_year_digits": 3}, "kz_year_digits", "3"),
            ({"creditor_name": ""}, "creditor_name", ""),
            ({"iban": ""}, "iban", ""),
        ],
    )
    def test_invalid_fields_are_refused_by_name(
        self, overrides: dict[str, Any], field: str, text: str
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            factories.organisation(**overrides)
        assert field in caught.value.errors
        assert text in caught.value.errors[field]
        assert not Organisation.objects.exists()

    @pytest.mark.parametrize("digits", [2, 13])
    def test_number_digits_outside_3_to_12_are_refused(self, digits: int) -> None:
        with pytest.raises(ValidationFailed):
            factories.organisation(kz_number_digits=digits)
        assert not Organisation.objects.exists()

    def test_a_blank_ags_and_bic_are_allowed(self) -> None:
        org = factories.organisation(ags="", bic="")
        assert (org.ags, org.bic) == ("", "")

    def test_slugs_are_unique(self) -> None:
        factories.organisation(slug="koeln")
        with pytest.raises(ValidationFailed) as caught:
            factories.organisation(slug="koeln")
        assert set(caught.value.errors) == {"slug"}
        assert Organisation.objects.filter(slug="koeln").count() == 1


# --- departments and budget lines -------------------------------------------------------------


@pytest.mark.django_db
class TestStructure:
    def test_creating_a_department_is_audited(self, org: Organisation) -> None:
        department = create_department(
            actor=ACTOR, organisation=org, name="Standesamt", code="34", email="standesamt@x.de"
        )
        entry = AuditEntry.objects.get(action="department.created")
        assert (entry.organisation_id, entry.object_type, entry.object_id) == (
            org.pk,
            "organisations.department",
            str(department.pk),
        )
        assert entry.after == {"name": "Standesamt", "code": "34"}

    def test_department_names_are_unique_per_organisation(self, org: Organisation) -> None:
        factories.department(org, "Standesamt")
        with pytest.raises(ValidationFailed):
            factories.department(org, "Standesamt")
        assert Department.objects.filter(organisation=org, name="Standesamt").count() == 1
        other = factories.organisation()
        assert factories.department(other, "Standesamt").organisation == other

    def test_a_department_needs_a_name_and_a_valid_email(self, org: Organisation) -> None:
        with pytest.raises(ValidationFailed) as caught:
            create_department(actor=ACTOR, organisation=org, name="", email="keine-adresse")
        assert set(caught.value.errors) == {"name", "email"}
        assert not AuditEntry.objects.filter(action="department.created").exists()

    def test_creating_a_budget_line_is_audited(self, org: Organisation) -> None:
        line = create_budget_line(
            actor=ACTOR,
            organisation=org,
            code="1.2.3",
            name="Verwaltungsgebühren",
            product="12.2.01",
            account="432100",
            cost_centre="1200",
            booking_data={"kostentraeger": "KT-7"},
        )
        line.refresh_from_db()
        assert line.booking_data == {"kostentraeger": "KT-7"}
        assert line.is_active
        entry = AuditEntry.objects.get(action="budget_line.created")
        assert (entry.organisation_id, entry.object_type, entry.object_id) == (
            org.pk,
            "organisations.budgetline",
            str(line.pk),
        )
        assert entry.after == {
            "code": "1.2.3",
            "product": "12.2.01",
            "account": "432100",
            "cost_centre": "1200",
        }

    def test_budget_line_codes_are_unique_per_organisation(self, org: Organisation) -> None:
        factories.budget_line(org, "4711")
        with pytest.raises(ValidationFailed):
            factories.budget_line(org, "4711")
        assert factories.budget_line(factories.organisation(), "4711").code == "4711"
        assert BudgetLine.objects.filter(code="4711").count() == 2


# --- roles ------------------------------------------------------------------------------------


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user("erika", password="x")


@pytest.mark.django_db
class TestGrantRole:
    @pytest.mark.parametrize("role", [Role.CLERK, Role.DEPARTMENT_HEAD])
    def test_department_roles_need_a_department(
        self, role: Role, org: Organisation, user: User
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            grant_role(actor=ACTOR, organisation=org, user=user, role=role)
        assert caught.value.errors == {"department": "Für diese Rolle muss ein Amt gewählt werden."}
        assert not Membership.objects.exists()

    @pytest.mark.parametrize("role", [Role.CASH_OFFICE, Role.ADMINISTRATOR])
    def test_organisation_roles_must_not_name_a_department(
        self, role: Role, org: Organisation, department: Department, user: User
    ) -> None:
        with pytest.raises(ValidationFailed) as caught:
            grant_role(actor=ACTOR, organisation=org, user=user, role=role, department=department)
        assert caught.value.errors == {"department": "Diese Rolle gilt für die ganze Organisation."}
        assert not Membership.objects.exists()

    def test_the_department_must_belong_to_the_organisation(
        self, org: Organisation, user: User
    ) -> None:
        foreign = factories.department(factories.organisation(), "Ordnungsamt")
        with pytest.raises(ValidationFailed) as caught:
            grant_role(
                actor=ACTOR, organisation=org, user=user, role=Role.CLERK, department=foreign
            )
        assert caught.value.errors == {"department": "Das Amt gehört nicht zu dieser Organisation."}
        assert not Membership.objects.exists()

    def test_granting_is_audited_once_and_idempotent(
        self, org: Organisation, department: Department, user: User
    ) -> None:
        first = grant_role(
            actor=ACTOR, organisation=org, user=user, role=Role.CLERK, department=department
        )
        again = grant_role(
            actor=ACTOR, organisation=org, user=user, role=Role.CLERK, department=department
        )
        assert first.pk == again.pk
        assert (first.role, first.department_id, first.organisation_id) == (
            Role.CLERK,
            department.pk,
            org.pk,
        )
        entries = AuditEntry.objects.filter(action="membership.granted")
        assert entries.count() == 1
        entry = entries.get()
        assert (entry.organisation_id, entry.object_type, entry.object_id) == (
            org.pk,
            "organisations.membership",
            str(first.pk),
        )
        assert entry.after == {"user": "erika", "role": "clerk", "department_id": department.pk}

    def test_an_organisation_role_is_granted_without_department(
        self, org: Organisation, user: User
    ) -> None:
        membership = grant_role(actor=ACTOR, organisation=org, user=user, role=Role.CASH_OFFICE)
        assert membership.department_id is None
        assert AuditEntry.objects.get(action="membership.granted").after == {
            "user": "erika",
            "role": "cash_office",
            "department_id": None,
        }

    def test_the_database_refuses_a_clerk_without_department(
        self, org: Organisation, user: User
    ) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(user=user, organisation=org, role=Role.CLERK)

    def test_the_database_refuses_a_cash_office_role_in_a_department(
        self, org: Organisation, department: Department, user: User
    ) -> None:
        with pytest.raises(IntegrityError), transaction.atomic():
            Membership.objects.create(
                user=user, organisation=org, department=department, role=Role.CASH_OFFICE
            )


# --- selectors --------------------------------------------------------------------------------


@pytest.mark.django_db
class TestSelectors:
    def test_cash_office_and_administrators_see_every_department(
        self, org: Organisation, user: User
    ) -> None:
        admin = User.objects.create_user("admin", password="x")
        grant_role(actor=ACTOR, organisation=org, user=user, role=Role.CASH_OFFICE)
        grant_role(actor=ACTOR, organisation=org, user=admin, role=Role.ADMINISTRATOR)
        assert selectors.department_ids_for(organisation=org, user_id=user.pk) is None
        assert selectors.department_ids_for(organisation=org, user_id=admin.pk) is None

    def test_clerks_see_their_departments_only(
        self, org: Organisation, department: Department, user: User
    ) -> None:
        second = factories.department(org, "Standesamt")
        factories.department(org, "Ordnungsamt")
        grant_role(actor=ACTOR, organisation=org, user=user, role=Role.CLERK, department=department)
        grant_role(
            actor=ACTOR, organisation=org, user=user, role=Role.DEPARTMENT_HEAD, department=second
        )
        assert selectors.department_ids_for(organisation=org, user_id=user.pk) == {
            department.pk,
            second.pk,
        }

    def test_a_clerk_who_is_also_cash_office_sees_everything(
        self, org: Organisation, department: Department, user: User
    ) -> None:
        grant_role(actor=ACTOR, organisation=org, user=user, role=Role.CLERK, department=department)
        grant_role(actor=ACTOR, organisation=org, user=user, role=Role.CASH_OFFICE)
        assert selectors.department_ids_for(organisation=org, user_id=user.pk) is None

    def test_without_a_role_a_user_sees_no_department(
        self, org: Organisation, department: Department, user: User
    ) -> None:
        assert selectors.department_ids_for(organisation=org, user_id=user.pk) == set()

    def test_roles_in_another_organisation_do_not_count(
        self, org: Organisation, department: Department, user: User
    ) -> None:
        other = factories.organisation()
        other_department = factories.department(other)
        grant_role(actor=ACTOR, organisation=other, user=user, role=Role.CASH_OFFICE)
        grant_role(
            actor=ACTOR, organisation=other, user=user, role=Role.CLERK, department=other_department
        )
        assert selectors.department_ids_for(organisation=org, user_id=user.pk) == set()
        assert not selectors.has_role(organisation=org, user_id=user.pk, role=Role.CASH_OFFICE)
        assert selectors.has_role(organisation=other, user_id=user.pk, role=Role.CASH_OFFICE)
        assert not selectors.memberships(organisation=org, user_id=user.pk).exists()
        assert selectors.memberships(organisation=other, user_id=user.pk).count() == 2

    def test_get_department_of_another_organisation_is_not_found(
        self, org: Organisation, department: Department
    ) -> None:
        foreign = factories.department(factories.organisation(), "Bürgeramt")
        assert selectors.get_department(organisation=org, department_id=department.pk) == department
        with pytest.raises(NotFound) as caught:
            selectors.get_department(organisation=org, department_id=foreign.pk)
        assert caught.value.message == "Dieses Amt gibt es in der Organisation nicht."
        assert caught.value.status == 404
        with pytest.raises(NotFound):
            selectors.get_department(organisation=org, department_id=999_999)

    def test_departments_lists_only_the_organisations_own(
        self, org: Organisation, department: Department
    ) -> None:
        other = factories.organisation()
        factories.department(other, "Bürgeramt")
        assert list(selectors.departments(organisation=org)) == [department]

    def test_budget_lines_are_scoped_and_filter_inactive(
        self, org: Organisation, budget_line: BudgetLine
    ) -> None:
        retired = factories.budget_line(org, "9.9.9")
        retired.is_active = False
        retired.save()
        other = factories.organisation()
        foreign = factories.budget_line(other, budget_line.code)
        assert list(selectors.budget_lines(organisation=org)) == [budget_line]
        assert set(selectors.budget_lines(organisation=org, active_only=False)) == {
            budget_line,
            retired,
        }
        assert selectors.get_budget_line(organisation=org, code=budget_line.code) == budget_line
        assert selectors.get_budget_line(organisation=other, code=budget_line.code) == foreign
        # An inactive line is still found by its code: old receivables keep their booking data.
        assert selectors.get_budget_line(organisation=org, code="9.9.9") == retired
        with pytest.raises(NotFound) as caught:
            selectors.get_budget_line(organisation=other, code="9.9.9")
        assert caught.value.field == "budget_line"
        assert "9.9.9" in caught.value.message

    def test_get_organisation_by_slug(self, org: Organisation) -> None:
        assert selectors.get_organisation(slug=org.slug) == org
        with pytest.raises(NotFound, match="„gibt-es-nicht“"):
            selectors.get_organisation(slug="gibt-es-nicht")
