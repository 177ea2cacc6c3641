"""The matching engine: every rule, its German reason, suggestions and the invariants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rathauskasse.core import iso11649
from rathauskasse.reconciliation.decisions import Decision, OpenItem, Outcome, Payout, Rule
from rathauskasse.reconciliation.lines import StatementLine
from rathauskasse.reconciliation.matching import (
    decide,
    is_reversal,
    match_batch,
    name_similarity,
    reversal_keys,
    suggest,
)
from rathauskasse.reconciliation.references import readings
from tests.reconciliation.matching_support import PREFIXED, item, kz, line

KZ = kz(123)  # 51260001238
OTHER = kz(456)  # 51260004562
THIRD = kz(789)  # 51260007896


def run(text: str, items: Collection[OpenItem], amount: int = 4500, **fields: object) -> Decision:
    statement_line = line(amount, text, **fields)
    found = readings(statement_line, PREFIXED)
    by_kz = {i.kassenzeichen: i for i in items}
    return decide(statement_line, by_kz, readings=found)


def check_invariants(statement_line: StatementLine, decision: Decision) -> None:
    ids = [a.receivable_id for a in decision.allocations]
    assert len(ids) == len(set(ids)), "a receivable allocated twice"
    assert all(a.amount_cents > 0 for a in decision.allocations)
    assert decision.suspense_cents >= 0
    if decision.outcome is Outcome.CLEARING:
        assert decision.allocations == ()
    if statement_line.amount_cents <= 0 or decision.rule is Rule.REVERSAL:
        assert decision.allocations == ()
        assert decision.allocated_cents + decision.suspense_cents <= abs(
            statement_line.amount_cents
        )
        return
    booked_payout = 0
    if decision.rule is Rule.PAYOUT and decision.outcome is Outcome.BOOKED:
        assert decision.payout is not None
        booked_payout = decision.payout.amount_cents
    assert (
        decision.allocated_cents + decision.suspense_cents + booked_payout
        == statement_line.amount_cents
    )


# --- one Kassenzeichen ------------------------------------------------------------------------


def test_exact_kassenzeichen_and_exact_amount_is_booked() -> None:
    decision = run(
        f"Hundesteuer {KZ}",
        [item(KZ, 4500, receivable_id=7, debtor_name="Hans Müller")],
        counterparty_name="MUELLER, HANS",
    )
    assert (decision.rule, decision.outcome) == (Rule.EXACT, Outcome.BOOKED)
    assert [(a.receivable_id, a.kassenzeichen, a.amount_cents) for a in decision.allocations] == [
        (7, KZ, 4500)
    ]
    assert decision.suspense_cents == 0
    assert decision.candidates == (KZ,)
    assert decision.reason == (
        "Kassenzeichen 51260001238 im Verwendungszweck gefunden, Betrag 45,00\u00a0€ entspricht "
        "dem offenen Betrag."
    )


def test_an_introduced_kassenzeichen_with_its_exact_amount_needs_no_name() -> None:
    decision = run(f"KZ {KZ}", [item(KZ, 4500, debtor_name="Hans Müller")])
    assert (decision.rule, decision.outcome) == (Rule.EXACT, Outcome.BOOKED)


def test_a_bare_number_with_the_exact_amount_needs_the_payer_to_confirm_it() -> None:
    # Bare, a number is a valid Kassenzeichen one time in ten by chance, and bulk notices
    # share amounts: the name (or a known IBAN) has to say that the payer is the debtor.
    items = [item(KZ, 4500, receivable_id=7, debtor_name="Hans Müller")]
    decision = run(f"Kunde {KZ}", items, counterparty_name="Anna Schmidt")
    assert (decision.rule, decision.outcome) == (Rule.EXACT, Outcome.CLEARING)
    assert decision.allocations == ()
    assert decision.suspense_cents == 4500
    assert "Zahler (Anna Schmidt) passt nicht zum Schuldner (Hans Müller)" in decision.reason
    iban = "DE02120300000000202051"
    statement_line = line(4500, f"Kunde {KZ}", counterparty_name="Anna", counterparty_iban=iban)
    decision = decide(
        statement_line,
        {KZ: items[0]},
        readings=readings(statement_line, PREFIXED),
        known_ibans={iban: {7}},
    )
    assert (decision.rule, decision.outcome) == (Rule.EXACT, Outcome.BOOKED)
    decision = run(f"{KZ}", items, ultimate_party_name="Müller, Hans")
    assert decision.outcome is Outcome.BOOKED


def test_the_reason_says_how_a_confused_kassenzeichen_was_read() -> None:
    decision = run("KZ 5126OOO1238", [item(KZ, 4500)])
    assert decision.rule is Rule.EXACT
    assert decision.reason.startswith(
        "Kassenzeichen 51260001238 im Verwendungszweck gefunden (gelesen mit O→0 aus "
        "„5126OOO1238“), Betrag 45,00"
    )


def test_an_rf_reference_books_like_the_kassenzeichen() -> None:
    decision = run("", [item(KZ, 4500)], structured_reference=iso11649.creditor_reference(KZ))
    assert decision.rule is Rule.EXACT
    assert "in der RF-Referenz gefunden" in decision.reason


def test_less_than_open_is_a_flagged_partial_payment() -> None:
    decision = run(f"KZ {KZ} Rate 1", [item(KZ, 9000)])
    assert (decision.rule, decision.outcome) == (Rule.PARTIAL, Outcome.FLAGGED)
    assert [a.amount_cents for a in decision.allocations] == [4500]
    assert decision.suspense_cents == 0
    assert "als Teilzahlung gebucht, es bleiben 45,00\u00a0€ offen" in decision.reason


def test_more_than_open_books_the_open_amount_and_the_rest_to_suspense() -> None:
    decision = run(f"Kassenzeichen {KZ}", [item(KZ, 4000)])
    assert (decision.rule, decision.outcome) == (Rule.OVERPAID, Outcome.FLAGGED)
    assert [a.amount_cents for a in decision.allocations] == [4000]
    assert decision.suspense_cents == 500
    assert "5,00\u00a0€ als Überzahlung ins Verwahrgeld" in decision.reason


@pytest.mark.parametrize("open_cents", [9000, 4000])
def test_a_bare_number_with_another_amount_is_not_booked(open_cents: int) -> None:
    # Without "KZ" the number is one time in ten a valid Kassenzeichen by chance: only the
    # amount may confirm it.
    decision = run(f"Kundennummer {KZ}", [item(KZ, open_cents)])
    assert decision.rule is (Rule.PARTIAL if open_cents > 4500 else Rule.OVERPAID)
    assert decision.outcome is Outcome.CLEARING
    assert decision.allocations == ()
    assert decision.suspense_cents == 4500
    assert "nicht automatisch gebucht" in decision.reason


@pytest.mark.parametrize(
    ("status", "open_cents", "word"),
    [("paid", 0, "bereits bezahlt"), ("cancelled", 0, "storniert"), ("open", 0, "bezahlt")],
)
def test_a_paid_or_cancelled_receivable_is_a_possible_duplicate(
    status: str, open_cents: int, word: str
) -> None:
    decision = run(f"KZ {KZ}", [item(KZ, open_cents, status=status)])
    assert (decision.rule, decision.outcome) == (Rule.DUPLICATE, Outcome.CLEARING)
    assert decision.allocations == ()
    assert decision.suspense_cents == 4500
    assert word in decision.reason
    assert "mögliche Doppelzahlung" in decision.reason


# --- several ----------------------------------------------------------------------------------


def test_several_kassenzeichen_adding_up_exactly_are_split() -> None:
    items = [item(KZ, 3000, receivable_id=1), item(OTHER, 1000, receivable_id=2)]
    items.append(item(THIRD, 500, receivable_id=3))
    decision = run(f"KZ {KZ}, {OTHER} und {THIRD}", items)
    assert (decision.rule, decision.outcome) == (Rule.SPLIT, Outcome.BOOKED)
    assert [(a.receivable_id, a.amount_cents) for a in decision.allocations] == [
        (1, 3000),
        (2, 1000),
        (3, 500),
    ]
    assert "ergeben zusammen genau 45,00" in decision.reason


def test_several_bare_kassenzeichen_split_too_when_the_sum_confirms_them() -> None:
    decision = run(f"{KZ} {OTHER}", [item(KZ, 3000), item(OTHER, 1500)])
    assert (decision.rule, decision.outcome) == (Rule.SPLIT, Outcome.BOOKED)


def test_several_that_do_not_add_up_are_ambiguous() -> None:
    decision = run(f"KZ {KZ} {OTHER}", [item(KZ, 3000), item(OTHER, 1000)])
    assert (decision.rule, decision.outcome) == (Rule.AMBIGUOUS, Outcome.CLEARING)
    assert decision.suspense_cents == 4500
    assert "zusammen 40,00\u00a0€, gezahlt wurden 45,00\u00a0€" in decision.reason


def test_several_with_a_paid_one_go_to_clearing() -> None:
    decision = run(f"KZ {KZ} {OTHER}", [item(KZ, 4500), item(OTHER, 0, status="paid")])
    assert (decision.rule, decision.outcome) == (Rule.AMBIGUOUS, Outcome.CLEARING)
    assert f"{OTHER} ist bereits bezahlt" in decision.reason


def test_introduced_kassenzeichen_win_over_a_bare_number_that_spoils_the_sum() -> None:
    decision = run(f"KZ {KZ} Kunde {OTHER}", [item(KZ, 4500), item(OTHER, 700)])
    assert decision.rule is Rule.EXACT
    assert [a.kassenzeichen for a in decision.allocations] == [KZ]
    assert decision.candidates == (KZ, OTHER)


def twin_case(
    line_cents: int, mine: OpenItem, twin_cents: int, twin_status: str = "open"
) -> Decision:
    number = mine.kassenzeichen
    statement_line = line(line_cents, f"KZ {number}")
    found = readings(statement_line, PREFIXED)
    twin = found[0].twins[0]
    items = {number: mine, twin: item(twin, twin_cents, receivable_id=99, status=twin_status)}
    return decide(statement_line, items, readings=found)


def test_an_existing_twin_makes_a_reading_without_its_exact_amount_a_guess() -> None:
    number = kz(99)  # 51260000990: Luhn cannot see 9 and 0 swapped
    decision = twin_case(4500, item(number, 9000), 4500)
    assert (decision.rule, decision.outcome) == (Rule.AMBIGUOUS, Outcome.CLEARING)
    assert "vertauschte Ziffern" in decision.reason
    # The twin paid already: still a guess between a partial payment and a double one.
    decision = twin_case(4500, item(number, 9000), 0, "paid")
    assert decision.rule is Rule.AMBIGUOUS


def test_the_exact_amount_tells_a_reading_from_its_twin() -> None:
    number = kz(99)
    decision = twin_case(4500, item(number, 4500), 3000)
    assert (decision.rule, decision.outcome) == (Rule.EXACT, Outcome.BOOKED)
    # Both owe the same: the amount does not tell them apart.
    decision = twin_case(4500, item(number, 4500), 4500)
    assert decision.rule is Rule.AMBIGUOUS


# --- nothing usable ---------------------------------------------------------------------------


def test_no_reference_goes_to_clearing_in_full() -> None:
    decision = run("Hundesteuer Mueller", [])
    assert (decision.rule, decision.outcome) == (Rule.NO_REFERENCE, Outcome.CLEARING)
    assert decision.suspense_cents == 4500
    assert decision.reason.startswith("Kein gültiges Kassenzeichen")


def test_a_valid_kassenzeichen_without_receivable_is_named_in_the_reason() -> None:
    decision = run(f"KZ {KZ}", [])
    assert decision.rule is Rule.NO_REFERENCE
    assert decision.candidates == (KZ,)
    assert f"Kassenzeichen {KZ} gelesen, aber keine Forderung" in decision.reason


def test_a_typo_the_check_digit_catches_is_never_booked() -> None:
    typo = KZ[:-2] + "48"  # 51260001248: one digit wrong
    decision = run(f"KZ {typo}", [item(KZ, 4500)])
    assert decision.rule is Rule.NO_REFERENCE
    assert decision.candidates == ()


def test_without_readings_the_keys_of_found_are_taken_as_given() -> None:
    decision = decide(line(4500, ""), {KZ: item(KZ, 4500)})
    assert decision.rule is Rule.EXACT
    assert "in den Angaben zur Buchung gefunden" in decision.reason


def test_another_currency_is_not_matched() -> None:
    decision = run(f"KZ {KZ}", [item(KZ, 4500)], currency="CHF")
    assert decision.outcome is Outcome.CLEARING
    assert "CHF" in decision.reason


# --- reversals and debits ---------------------------------------------------------------------


def test_a_returned_direct_debit_reverses_the_original() -> None:
    returned = line(
        -4500,
        f"RUECKLASTSCHRIFT KZ {KZ}",
        reversal=True,
        return_reason="MD06",
        end_to_end_id="E2E-77",
        mandate_id="M-1",
        creditor_id="DE98ZZZ09999999999",
        counterparty_iban="DE02120300000000202051",
    )
    assert is_reversal(returned)
    decision = decide(
        returned, {KZ: item(KZ, 0, status="paid")}, readings=readings(returned, PREFIXED)
    )
    assert (decision.rule, decision.outcome) == (Rule.REVERSAL, Outcome.FLAGGED)
    assert decision.allocations == ()
    assert decision.reason.startswith(
        "Rücklastschrift (Grund MD06: Rückgabe auf Verlangen des Zahlers) über 45,00"
    )
    assert "E2E-77" in decision.reason
    keys = reversal_keys(returned, PREFIXED)
    assert (keys.end_to_end_id, keys.mandate_id, keys.amount_cents) == ("E2E-77", "M-1", 4500)
    assert keys.kassenzeichen == (KZ,)
    assert keys.return_reason == "MD06"


def test_a_debit_with_a_return_reason_is_a_reversal_without_the_indicator() -> None:
    returned = line(-4500, "", return_reason="AC04", end_to_end_id="NOTPROVIDED")
    decision = decide(returned, {})
    assert decision.rule is Rule.REVERSAL
    assert "Konto aufgelöst" in decision.reason
    assert reversal_keys(returned).end_to_end_id == ""


def test_a_reversed_credit_is_a_reversal_too() -> None:
    decision = decide(line(2000, "Storno", reversal=True, return_reason="XY99"), {})
    assert decision.rule is Rule.REVERSAL
    assert decision.reason.startswith("Rückbuchung (Grund XY99) über 20,00")


def test_a_plain_debit_is_outgoing_and_waits_in_clearing() -> None:
    decision = run(f"Erstattung KZ {KZ}", [item(KZ, 4500)], amount=-4500)
    assert (decision.rule, decision.outcome) == (Rule.OUTGOING, Outcome.CLEARING)
    assert decision.allocations == ()


# --- payouts ----------------------------------------------------------------------------------

PAYOUT = Payout(payout_id=3, provider="Sandbox", reference="PAYOUT-0815", amount_cents=123_456)


def test_a_provider_payout_matching_its_amount_is_booked() -> None:
    payout_line = line(123_456, "Sammelgutschrift PAYOUT-0815")
    decision = decide(payout_line, {}, payouts={"PAYOUT-0815": PAYOUT})
    assert (decision.rule, decision.outcome) == (Rule.PAYOUT, Outcome.BOOKED)
    assert decision.payout == PAYOUT
    assert decision.allocations == ()
    assert decision.suspense_cents == 0
    assert "Verrechnungskonto des Zahlungsdienstleisters" in decision.reason


def test_a_payout_with_another_amount_waits_in_clearing() -> None:
    decision = decide(line(100_000, "PAYOUT-0815"), {}, payouts={"PAYOUT-0815": PAYOUT})
    assert (decision.rule, decision.outcome) == (Rule.PAYOUT, Outcome.CLEARING)
    assert decision.suspense_cents == 100_000
    assert "statt der gemeldeten 1.234,56" in decision.reason


def test_an_unknown_payout_reference_is_named() -> None:
    decision = decide(line(100, "PAYOUT-9"), {}, payouts={"PAYOUT-0815": PAYOUT})
    assert decision.rule is Rule.NO_REFERENCE
    assert "Auszahlungsreferenz PAYOUT-9 ist unbekannt" in decision.reason


# --- a batch ----------------------------------------------------------------------------------


def test_a_batch_looks_everything_up_once() -> None:
    calls: list[Collection[str]] = []
    store = {KZ: item(KZ, 4500, receivable_id=1), OTHER: item(OTHER, 1000, receivable_id=2)}

    def lookup(keys: Collection[str]) -> Mapping[str, OpenItem]:
        calls.append(set(keys))
        return {k: store[k] for k in keys if k in store}

    payout_calls: list[Collection[str]] = []

    def payout_lookup(refs: Collection[str]) -> Mapping[str, Payout]:
        payout_calls.append(set(refs))
        return {"PAYOUT-0815": PAYOUT} if "PAYOUT-0815" in refs else {}

    lines = [
        line(4500, f"KZ {KZ}"),
        line(1000, f"Kassenzeichen {OTHER}"),
        line(123_456, "PAYOUT-0815"),
        line(700, "ohne alles"),
    ]
    decisions = match_batch(lines, PREFIXED, lookup=lookup, payout_lookup=payout_lookup)
    assert [d.rule for d in decisions] == [Rule.EXACT, Rule.EXACT, Rule.PAYOUT, Rule.NO_REFERENCE]
    assert calls == [{KZ, OTHER}]
    assert payout_calls == [{"PAYOUT-0815"}]


# --- suggestions ------------------------------------------------------------------------------


def test_name_similarity_ignores_order_umlauts_and_titles() -> None:
    assert name_similarity("Müller, Hans", "HANS MUELLER") == 1.0
    assert name_similarity("Herrn Dr. Hans Müller", "Hans Müller") == 1.0
    assert name_similarity("Familie Müller", "Hans Müller") == 1.0
    assert name_similarity("Anna Schmidt", "Hans Müller") == 0.0
    assert name_similarity("", "Hans") == 0.0


def test_suggestions_rank_amount_name_iban_and_due_date() -> None:
    due = dt.date(2026, 3, 10)
    same_amount_and_name = item(KZ, 4500, receivable_id=1, debtor_name="Hans Müller", due_date=due)
    same_amount = item(OTHER, 4500, receivable_id=2, debtor_name="Anna Schmidt")
    known_iban = item(THIRD, 9900, receivable_id=3, debtor_name="Firma X")
    nothing = item(kz(5), 1234, receivable_id=4, debtor_name="Niemand")
    paid = item(kz(6), 4500, receivable_id=5, status="paid", debtor_name="Hans Müller")
    payer = line(
        4500, "Danke", counterparty_name="MUELLER HANS", counterparty_iban="DE02120300000000202051"
    )
    ranked = suggest(
        payer,
        [nothing, known_iban, same_amount, paid, same_amount_and_name],
        known_ibans={"DE02120300000000202051": {3}},
    )
    assert [s.item.receivable_id for s in ranked] == [1, 2, 3]
    best = ranked[0]
    assert best.reasons[:2] == ("gleicher Betrag (45,00\u00a0€)", "Name gleich (Hans Müller)")
    assert "fällig am 10.03.2026" in best.reasons
    assert ranked[2].reasons == ("IBAN des Zahlers von diesem Schuldner bekannt",)
    assert all(0 < s.score <= 1 for s in ranked)
    assert ranked == sorted(ranked, key=lambda s: -s.score)


def test_a_kassenzeichen_read_in_the_line_tops_the_suggestions() -> None:
    payer = line(4500, f"Kundennummer {KZ}")
    pool = [item(OTHER, 4500, receivable_id=2), item(KZ, 9000, receivable_id=1)]
    ranked = suggest(payer, pool, readings=readings(payer, PREFIXED), limit=1)
    assert [s.item.receivable_id for s in ranked] == [1]
    assert ranked[0].reasons[0] == "Kassenzeichen im Verwendungszweck"


# --- properties -------------------------------------------------------------------------------

numbers = st.integers(min_value=1, max_value=40)
amounts = st.integers(min_value=1, max_value=20_000)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[StatementLine, dict[str, OpenItem]]:
    chosen = draw(st.lists(numbers, min_size=0, max_size=4))
    items: dict[str, OpenItem] = {}
    for number in draw(st.lists(numbers, max_size=8, unique=True)):
        value = kz(number)
        status = draw(st.sampled_from(["open", "open", "open", "paid", "cancelled"]))
        open_cents = draw(amounts) if status == "open" else 0
        items[value] = item(value, open_cents, receivable_id=number, status=status)
    keyword = draw(st.sampled_from(["", "KZ ", "Kassenzeichen "]))
    text = keyword + " ".join(kz(n) for n in chosen)
    if draw(st.booleans()) and chosen and kz(chosen[0]) in items:
        # Often enough, the line pays exactly what the named items owe.
        amount = sum(items[kz(n)].open_cents for n in set(chosen) if kz(n) in items) or 1
    else:
        amount = draw(st.integers(min_value=-20_000, max_value=20_000))
    reversal = draw(st.booleans()) and draw(st.booleans())
    payout_text = draw(st.sampled_from(["", " PAYOUT-1"]))
    return line(amount, text + payout_text, reversal=reversal), items


PAYOUTS = {"PAYOUT-1": Payout(1, "Sandbox", "PAYOUT-1", 4500)}


@given(scenarios())
def test_a_decision_never_books_more_than_the_line_nor_a_receivable_twice(
    scenario: tuple[StatementLine, dict[str, OpenItem]],
) -> None:
    statement_line, items = scenario
    found = readings(statement_line, PREFIXED)
    decision = decide(statement_line, items, readings=found, payouts=PAYOUTS)
    check_invariants(statement_line, decision)
    by_id = {i.receivable_id: i for i in items.values()}
    for allocation in decision.allocations:
        assert allocation.amount_cents <= by_id[allocation.receivable_id].open_cents
        assert by_id[allocation.receivable_id].status == "open"
    # Deterministic: the same line and items decide the same way, also when found anew.
    assert decide(statement_line, dict(items), readings=found, payouts=PAYOUTS) == decision
    assert (
        decide(statement_line, items, readings=readings(statement_line, PREFIXED), payouts=PAYOUTS)
        == decision
    )


@given(scenarios())
def test_only_booked_or_flagged_decisions_allocate(
    scenario: tuple[StatementLine, dict[str, OpenItem]],
) -> None:
    statement_line, items = scenario
    decision = decide(statement_line, items, readings=readings(statement_line, PREFIXED))
    if decision.allocations:
        assert decision.outcome in {Outcome.BOOKED, Outcome.FLAGGED}
        assert decision.rule in {Rule.EXACT, Rule.PARTIAL, Rule.OVERPAID, Rule.SPLIT}
    assert decision.reason
