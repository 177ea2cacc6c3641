"""Fee rules: what each kind costs, how it reads, which rules are refused; quoting and services."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.catalogue import services
from rathauskasse.catalogue.fees import FeeBreakdown, FeeKind, FeeLine, FeeRule
from rathauskasse.catalogue.formdefs import parse_definition
from rathauskasse.catalogue.models import Service
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from tests import factories

EURO = "\u00a0€"
FIELDS = parse_definition(
    [
        {"name": "name", "label": "Name", "type": "text", "required": True},
        {"name": "pages", "label": "Seiten", "type": "integer", "min_value": 0, "max_value": 50},
        {"name": "copies", "label": "Abschriften", "type": "integer"},
        {
            "name": "format",
            "label": "Format",
            "type": "select",
            "options": [
                {"value": "short", "label": "Kurzform"},
                {"value": "long", "label": "Langform"},
            ],
        },
    ]
)
PER_PAGE = FeeRule(
    kind=FeeKind.PER_UNIT, amount_cents=500, unit_label="Seite", quantity_field="pages"
)
BY_FORMAT = FeeRule(
    kind=FeeKind.BY_OPTION, option_field="format", option_amounts={"short": 1000, "long": 2500}
)


def _check_errors(rule: FeeRule, fields: Any = FIELDS) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        rule.check(fields)
    return caught.value.errors


# --- computing --------------------------------------------------------------------------------


def test_free() -> None:
    rule = FeeRule(kind=FeeKind.FREE)
    rule.check(FIELDS)
    fee = rule.compute({"pages": 10}, FIELDS)
    assert fee == FeeBreakdown(lines=(), total_cents=0)
    assert fee.is_free
    assert rule.describe() == "gebührenfrei"


def test_fixed() -> None:
    rule = FeeRule(kind=FeeKind.FIXED, amount_cents=2550)
    rule.check(FIELDS)
    fee = rule.compute({"pages": 10, "format": "long"}, FIELDS)
    assert fee.lines == (FeeLine("Gebühr", 2550),)
    assert fee.total_cents == 2550
    assert fee.note == ""
    assert not fee.is_free
    assert rule.describe() == "25,50" + EURO


def test_fixed_above_the_maximum_is_capped_with_a_line_that_says_so() -> None:
    rule = FeeRule(kind=FeeKind.FIXED, amount_cents=2500, max_cents=2000)
    fee = rule.compute({}, FIELDS)
    assert fee.total_cents == 2000
    assert fee.lines == (FeeLine("Gebühr", 2500), FeeLine(f"Höchstgebühr 20,00{EURO}", -500))
    assert fee.note == f"Höchstgebühr 20,00{EURO}"
    assert sum(line.amount_cents for line in fee.lines) == fee.total_cents


@pytest.mark.parametrize(
    ("pages", "total"), [(0, 0), (1, 500), (3, 1500), (50, 25000), (None, 0), ("7", 3500)]
)
def test_per_unit(pages: object, total: int) -> None:
    PER_PAGE.check(FIELDS)
    fee = PER_PAGE.compute({"pages": pages}, FIELDS)
    assert fee.total_cents == total
    quantity = int(pages or 0)  # type: ignore[call-overload]
    assert fee.lines == (FeeLine(f"{quantity} × 5,00{EURO} je Seite (Seiten)", total),)


def test_per_unit_line_without_a_known_field_has_no_label() -> None:
    fee = PER_PAGE.compute({"pages": 2}, ())
    assert fee.lines == (FeeLine(f"2 × 5,00{EURO} je Seite", 1000),)


def test_per_unit_minimum_lifts_small_amounts() -> None:
    rule = FeeRule(
        kind=FeeKind.PER_UNIT,
        amount_cents=500,
        unit_label="Seite",
        quantity_field="pages",
        min_cents=1000,
        max_cents=5000,
    )
    rule.check(FIELDS)
    low = rule.compute({"pages": 1}, FIELDS)
    assert low.total_cents == 1000
    assert low.lines[1] == FeeLine(f"Mindestgebühr 10,00{EURO}", 500)
    assert low.note == f"Mindestgebühr 10,00{EURO}"
    middle = rule.compute({"pages": 4}, FIELDS)
    assert (middle.total_cents, len(middle.lines), middle.note) == (2000, 1, "")
    high = rule.compute({"pages": 20}, FIELDS)
    assert high.total_cents == 5000
    assert high.lines == (
        FeeLine(f"20 × 5,00{EURO} je Seite (Seiten)", 10000),
        FeeLine(f"Höchstgebühr 50,00{EURO}", -5000),
    )
    # Exactly on the bounds: no extra line.
    assert len(rule.compute({"pages": 2}, FIELDS).lines) == 1
    assert len(rule.compute({"pages": 10}, FIELDS).lines) == 1


def test_by_option() -> None:
    BY_FORMAT.check(FIELDS)
    assert BY_FORMAT.compute({"format": "short"}, FIELDS) == FeeBreakdown(
        lines=(FeeLine("Kurzform", 1000),), total_cents=1000
    )
    assert BY_FORMAT.compute({"format": "long"}, FIELDS).lines == (FeeLine("Langform", 2500),)
    # Without the field definition the option value stands in for its label.
    assert BY_FORMAT.compute({"format": "long"}, ()).lines == (FeeLine("long", 2500),)


def test_by_option_with_bounds() -> None:
    rule = FeeRule(
        kind=FeeKind.BY_OPTION,
        option_field="format",
        option_amounts={"short": 0, "long": 2500},
        min_cents=500,
        max_cents=2000,
    )
    rule.check(FIELDS)
    assert rule.compute({"format": "short"}, FIELDS).total_cents == 500
    assert rule.compute({"format": "long"}, FIELDS).total_cents == 2000


@pytest.mark.parametrize("choice", ["medium", "", None, "Kurzform"])
def test_by_option_refuses_an_option_without_amount(choice: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        BY_FORMAT.compute({"format": choice}, FIELDS)
    assert caught.value.errors == {"format": "Bitte wählen Sie eine der angebotenen Möglichkeiten."}


@given(
    quantity=st.integers(min_value=0, max_value=10_000),
    price=st.integers(min_value=1, max_value=100_000),
    low=st.none() | st.integers(min_value=0, max_value=1_000_000),
    span=st.none() | st.integers(min_value=0, max_value=1_000_000),
)
def test_per_unit_total_is_the_bounded_product_and_lines_add_up(
    quantity: int, price: int, low: int | None, span: int | None
) -> None:
    high = None if span is None else (low or 0) + span
    rule = FeeRule(
        kind=FeeKind.PER_UNIT,
        amount_cents=price,
        unit_label="Stück",
        quantity_field="pages",
        min_cents=low,
        max_cents=high,
    )
    fee = rule.compute({"pages": quantity}, FIELDS)
    expected = quantity * price
    if low is not None:
        expected = max(expected, low)
    if high is not None:
        expected = min(expected, high)
    assert fee.total_cents == expected
    assert sum(line.amount_cents for line in fee.lines) == fee.total_cents
    assert fee.lines[0].amount_cents == quantity * price
    assert len(fee.lines) == (1 if expected == quantity * price else 2)


# --- words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (FeeRule(kind=FeeKind.FREE), "gebührenfrei"),
        (FeeRule(kind=FeeKind.FIXED, amount_cents=1234567), "12.345,67" + EURO),
        (PER_PAGE, "5,00" + EURO + " je Seite"),
        (
            FeeRule(
                kind=FeeKind.PER_UNIT,
                amount_cents=50,
                unit_label="Kopie",
                quantity_field="pages",
                min_cents=1000,
            ),
            f"0,50{EURO} je Kopie (mindestens 10,00{EURO})",
        ),
        (
            FeeRule(kind=FeeKind.FIXED, amount_cents=500, max_cents=400),
            f"5,00{EURO} (höchstens 4,00{EURO})",
        ),
        (
            FeeRule(
                kind=FeeKind.PER_UNIT,
                amount_cents=500,
                unit_label="Seite",
                quantity_field="pages",
                min_cents=1000,
                max_cents=5000,
            ),
            f"5,00{EURO} je Seite (mindestens 10,00{EURO}, höchstens 50,00{EURO})",
        ),
    ],
)
def test_describe(rule: FeeRule, text: str) -> None:
    assert rule.describe(FIELDS) == text


def test_describe_by_option_uses_labels_when_it_knows_the_form() -> None:
    assert BY_FORMAT.describe(FIELDS) == (
        f"je nach Auswahl – Kurzform: 10,00{EURO}; Langform: 25,00{EURO}"
    )
    assert BY_FORMAT.describe() == f"je nach Auswahl – short: 10,00{EURO}; long: 25,00{EURO}"


# --- consistency ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        FeeRule(kind=FeeKind.FREE),
        FeeRule(kind=FeeKind.FREE, min_cents=0),
        FeeRule(kind=FeeKind.FIXED, amount_cents=1),
        FeeRule(kind=FeeKind.FIXED, amount_cents=500, min_cents=500, max_cents=500),
        PER_PAGE,
        BY_FORMAT,
        FeeRule(
            kind=FeeKind.BY_OPTION,
            option_field="format",
            option_amounts={"short": 0, "long": 0, "extra": 100},
        ),
    ],
)
def test_consistent_rules_pass(rule: FeeRule) -> None:
    rule.check(FIELDS)


@pytest.mark.parametrize("kind", [FeeKind.FIXED, FeeKind.PER_UNIT])
@pytest.mark.parametrize("amount", [0, -100])
def test_fixed_and_per_unit_need_a_positive_amount(kind: FeeKind, amount: int) -> None:
    rule = FeeRule(kind=kind, amount_cents=amount, unit_label="Seite", quantity_field="pages")
    assert _check_errors(rule) == {"fee_amount_cents": "Der Betrag muss größer als 0 sein."}


@pytest.mark.parametrize("quantity_field", ["", "missing", "name", "format"])
def test_per_unit_needs_an_integer_quantity_field(quantity_field: str) -> None:
    rule = FeeRule(
        kind=FeeKind.PER_UNIT, amount_cents=500, unit_label="Seite", quantity_field=quantity_field
    )
    assert _check_errors(rule) == {
        "fee_quantity_field": "Wählen Sie ein Zahlenfeld des Formulars als Menge."
    }


@pytest.mark.parametrize("min_value", [None, -1])
def test_per_unit_quantity_field_needs_a_minimum_of_at_least_zero(min_value: int | None) -> None:
    # Without a minimum a citizen could order -3 pages and get money back.
    fields = parse_definition(
        [{"name": "pages", "label": "Seiten", "type": "integer", "min_value": min_value}]
    )
    assert _check_errors(PER_PAGE, fields) == {
        "fee_quantity_field": "Das Mengenfeld braucht einen Mindestwert ≥ 0."
    }


def test_per_unit_needs_a_unit_label() -> None:
    rule = FeeRule(kind=FeeKind.PER_UNIT, amount_cents=500, quantity_field="pages")
    assert _check_errors(rule) == {"fee_unit_label": "Nennen Sie die Einheit, z. B. „Seite“."}


@pytest.mark.parametrize("option_field", ["", "missing", "pages", "name"])
def test_by_option_needs_a_select_field(option_field: str) -> None:
    rule = FeeRule(kind=FeeKind.BY_OPTION, option_field=option_field, option_amounts={"a": 1})
    assert _check_errors(rule) == {"fee_option_field": "Wählen Sie ein Auswahlfeld des Formulars."}


def test_by_option_names_the_options_without_amount() -> None:
    rule = FeeRule(kind=FeeKind.BY_OPTION, option_field="format", option_amounts={})
    assert _check_errors(rule) == {
        "fee_option_amounts": "Es fehlt ein Betrag für: Kurzform, Langform"
    }
    rule = FeeRule(kind=FeeKind.BY_OPTION, option_field="format", option_amounts={"short": 100})
    assert _check_errors(rule) == {"fee_option_amounts": "Es fehlt ein Betrag für: Langform"}


@pytest.mark.parametrize("amount", [-1, True])
def test_by_option_refuses_negative_or_boolean_amounts(amount: int) -> None:
    rule = FeeRule(
        kind=FeeKind.BY_OPTION,
        option_field="format",
        option_amounts={"short": amount, "long": 100},
    )
    assert _check_errors(rule) == {
        "fee_option_amounts": (
            "Beträge sind ganze, nicht negative Centbeträge (z. B. 2500 für 25,00 €)."
        )
    }


def test_minimum_above_maximum_is_refused() -> None:
    rule = FeeRule(kind=FeeKind.FIXED, amount_cents=500, min_cents=2001, max_cents=2000)
    assert _check_errors(rule) == {
        "fee_max_cents": "Der Höchstbetrag liegt unter dem Mindestbetrag."
    }


@pytest.mark.parametrize(("low", "high"), [(100, None), (None, 100), (-5, None)])
def test_a_free_rule_has_no_bounds(low: int | None, high: int | None) -> None:
    rule = FeeRule(kind=FeeKind.FREE, min_cents=low, max_cents=high)
    assert _check_errors(rule) == {
        "fee_min_cents": "Eine gebührenfreie Leistung hat keine Grenzen."
    }


def test_check_collects_every_problem_at_once() -> None:
    rule = FeeRule(kind=FeeKind.PER_UNIT, amount_cents=0, min_cents=10, max_cents=5)
    assert set(_check_errors(rule, ())) == {
        "fee_amount_cents",
        "fee_quantity_field",
        "fee_unit_label",
        "fee_max_cents",
    }


def test_a_negative_maximum_is_refused() -> None:
    rule = FeeRule(kind=FeeKind.FIXED, amount_cents=500, max_cents=-100)
    with pytest.raises(ValidationFailed) as caught:
        rule.check(FIELDS)
    assert "fee_max_cents" in caught.value.errors


# --- quoting and creating services (database) -------------------------------------------------


@pytest.mark.django_db
class TestServices:
    def _service(
        self, org: Organisation, department: Department, budget_line: BudgetLine, **kw: Any
    ) -> Service:
        return factories.service(org, department, budget_line, **kw)

    def _refusal(
        self, org: Organisation, department: Department, budget_line: BudgetLine | None, **kw: Any
    ) -> dict[str, str]:
        before = AuditEntry.objects.filter(action="service.created").count()
        with pytest.raises(ValidationFailed) as caught:
            factories.service(org, department, budget_line, **kw)  # type: ignore[arg-type]
        assert not Service.objects.filter(organisation=org).exists()
        assert AuditEntry.objects.filter(action="service.created").count() == before
        return caught.value.errors

    def test_quote_computes_the_fee_from_validated_answers(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        service = self._service(org, department, budget_line)
        quote = services.quote(service=service, data={"name": " Erika ", "pages": "3"})
        assert quote.answers == {"name": "Erika", "pages": 3}
        assert quote.fee.total_cents == 1500
        assert quote.fee.lines == (FeeLine(f"3 × 5,00{EURO} je Seite (Seiten)", 1500),)

    @pytest.mark.parametrize(
        "sneaked",
        [
            {"amount": "0.01"},
            {"amount_cents": 1},
            {"fee": 0, "total_cents": 0},
            {"fee_amount_cents": 1, "price": "1,00"},
        ],
    )
    def test_quote_ignores_any_amount_a_client_sends(
        self,
        sneaked: dict[str, object],
        org: Organisation,
        department: Department,
        budget_line: BudgetLine,
    ) -> None:
        service = self._service(org, department, budget_line)
        quote = services.quote(service=service, data={"name": "Erika", "pages": "4", **sneaked})
        assert quote.fee.total_cents == 2000
        assert set(quote.answers) == {"name", "pages"}

    def test_quote_refuses_invalid_answers_per_field(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        service = self._service(org, department, budget_line)
        with pytest.raises(ValidationFailed) as caught:
            services.quote(service=service, data={"name": "", "pages": "51"})
        assert caught.value.errors == {
            "name": "Bitte füllen Sie das Feld „Name“ aus.",
            "pages": "„Seiten“ darf höchstens 50 sein.",
        }

    def test_quote_by_option(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        service = self._service(
            org,
            department,
            budget_line,
            form_definition=[
                {
                    "name": "format",
                    "label": "Format",
                    "type": "select",
                    "required": True,
                    "options": [
                        {"value": "short", "label": "Kurzform"},
                        {"value": "long", "label": "Langform"},
                    ],
                },
            ],
            fee_kind="by_option",
            fee_amount_cents=0,
            fee_unit_label="",
            fee_quantity_field="",
            fee_option_field="format",
            fee_option_amounts={"short": 1000, "long": 2500},
        )
        assert services.quote(service=service, data={"format": "long"}).fee.total_cents == 2500
        with pytest.raises(ValidationFailed) as caught:
            services.quote(service=service, data={"format": "medium"})
        assert set(caught.value.errors) == {"format"}

    def test_create_service_writes_an_audit_entry(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        service = self._service(org, department, budget_line)
        entry = AuditEntry.objects.get(action="service.created", object_id=str(service.pk))
        assert entry.organisation_id == org.pk
        assert entry.object_type == "catalogue.service"
        assert entry.actor_label == "test"
        assert entry.after == {"slug": service.slug, "fee": f"5,00{EURO} je Seite"}

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"fee_quantity_field": "name"}, "fee_quantity_field"),
            ({"fee_quantity_field": "seiten"}, "fee_quantity_field"),
            ({"fee_unit_label": ""}, "fee_unit_label"),
            ({"fee_kind": "by_option", "fee_option_field": "pages"}, "fee_option_field"),
            ({"fee_min_cents": 1000, "fee_max_cents": 500}, "fee_max_cents"),
            ({"form_definition": [{"name": "Seiten", "label": "x"}]}, "form_definition"),
        ],
    )
    def test_a_fee_rule_that_does_not_fit_the_form_is_refused(
        self,
        overrides: dict[str, Any],
        field: str,
        org: Organisation,
        department: Department,
        budget_line: BudgetLine,
    ) -> None:
        errors = self._refusal(org, department, budget_line, **overrides)
        assert field in errors
        assert errors[field]

    def test_quantity_field_without_minimum_is_refused_by_name(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        errors = self._refusal(
            org,
            department,
            budget_line,
            form_definition=[{"name": "pages", "label": "Seiten", "type": "integer"}],
        )
        assert errors == {"fee_quantity_field": "Das Mengenfeld braucht einen Mindestwert ≥ 0."}

    def test_a_charging_service_needs_a_budget_line(
        self, org: Organisation, department: Department
    ) -> None:
        errors = self._refusal(org, department, None)
        assert errors == {
            "budget_line": "Eine gebührenpflichtige Leistung braucht eine Haushaltsstelle."
        }

    def test_a_charging_service_needs_payment_methods(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        errors = self._refusal(org, department, budget_line, payment_methods=[])
        assert errors == {"payment_methods": "Wählen Sie mindestens eine Zahlart."}

    def test_unknown_payment_methods_are_named(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        errors = self._refusal(
            org, department, budget_line, payment_methods=["card", "bitcoin", "cash"]
        )
        assert errors == {"payment_methods": "Unbekannte Zahlart: bitcoin, cash"}

    @pytest.mark.parametrize("policy", ["before_submit", "after_decision"])
    def test_a_free_service_is_not_paid_for(
        self, policy: str, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        errors = self._refusal(
            org,
            department,
            budget_line,
            fee_kind="free",
            fee_amount_cents=0,
            fee_unit_label="",
            fee_quantity_field="",
            payment_policy=policy,
        )
        assert errors == {"payment_policy": "Eine gebührenfreie Leistung wird nicht bezahlt."}

    def test_a_free_service_needs_neither_budget_line_nor_methods(
        self, org: Organisation, department: Department
    ) -> None:
        service = factories.service(
            org,
            department,
            None,  # type: ignore[arg-type]
            fee_kind="free",
            fee_amount_cents=0,
            fee_unit_label="",
            fee_quantity_field="",
            payment_policy="none",
            payment_methods=[],
        )
        assert service.is_free
        quote = services.quote(service=service, data={"name": "Erika", "pages": "9"})
        assert quote.fee.is_free
        assert quote.fee.lines == ()

    def test_department_and_budget_line_must_belong_to_the_organisation(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        other = factories.organisation()
        errors = self._refusal(org, factories.department(other), factories.budget_line(other))
        assert errors["department"] == "Das Amt gehört nicht zu dieser Organisation."
        assert errors["budget_line"] == "Die Haushaltsstelle gehört nicht zu dieser Organisation."

    def test_non_numeric_option_amounts_are_refused_as_validation_error(
        self, org: Organisation, department: Department, budget_line: BudgetLine
    ) -> None:
        errors = self._refusal(
            org,
            department,
            budget_line,
            form_definition=[
                {
                    "name": "format",
                    "label": "Format",
                    "type": "select",
                    "options": [{"value": "short"}],
                },
            ],
            fee_kind="by_option",
            fee_amount_cents=0,
            fee_unit_label="",
            fee_quantity_field="",
            fee_option_field="format",
            fee_option_amounts={"short": "zehn Euro"},
        )
        assert "fee_option_amounts" in errors
