"""The matching engine: from a statement line and the open items it names to a `Decision`.

Pure functions, no database. The caller works in two phases so that a batch of lines costs one
lookup, not one query per line: `references.readings` for every line, one bulk lookup of all
`references.lookup_keys` (and of all `references.payout_references`), then `decide` per line.
`match_batch` does exactly that with the caller's lookup functions.

Invariants every decision keeps (the Hypothesis properties in tests/reconciliation check them):
- for a credit, the allocations and the suspense part add up to exactly the line's amount, except
  a matched provider payout, which goes to provider clearing whole; a debit allocates nothing;
- no receivable gets two allocations, and none gets more than its open amount;
- only BOOKED and FLAGGED decisions allocate; a CLEARING decision puts the whole credit into
  suspense;
- the same line and the same items give the same decision.

When the matcher books without asking (decision 0027):
- a Kassenzeichen introduced by the payer ("KZ", "Kassenzeichen", an RF reference, a whole
  structured field) is booked: exactly, partly (flagged) or with the overpayment to suspense
  (flagged);
- a number standing bare in free text is one time in ten a valid Kassenzeichen by chance, so it
  needs more: exactly its open amount and a payer who resembles the debtor (name, or an IBAN
  the debtor paid from before), or, with several, open amounts that add up exactly;
- a reading whose transposition twin exists as well is decided only when the amount names one
  of the two; one check digit does not see every transposition (Luhn misses 09 ↔ 90).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.reconciliation import references
from rathauskasse.reconciliation.decisions import (
    Allocation,
    Decision,
    OpenItem,
    Outcome,
    Payout,
    Rule,
    Suggestion,
)
from rathauskasse.reconciliation.lines import StatementLine
from rathauskasse.reconciliation.references import How, Reading, Source

OPEN = "open"
#: How similar the payer's and the debtor's names must be to count as the same person.
NAME_CONFIRMS = 0.5
_NO_PAYOUTS: Mapping[str, Payout] = MappingProxyType({})
_NO_IBANS: Mapping[str, set[int]] = MappingProxyType({})

#: SEPA return reasons the cash office meets, in German (others are shown by their code).
RETURN_REASONS = {
    "AC01": "IBAN fehlerhaft",
    "AC04": "Konto aufgelöst",
    "AC06": "Konto gesperrt",
    "AC13": "Konto eines Verbrauchers",
    "AG01": "Lastschrift für dieses Konto nicht erlaubt",
    "AG02": "ungültiger Transaktionscode",
    "AM04": "Deckung unzureichend",
    "AM05": "doppelte Einreichung",
    "BE05": "Zahlungsempfänger unbekannt",
    "CUST": "auf Wunsch des Kunden",
    "DUPL": "doppelte Zahlung",
    "FOCR": "Rückruf nach Stornoanfrage",
    "FRAD": "Betrugsverdacht",
    "MD01": "kein Mandat",
    "MD02": "Mandatsdaten fehlen oder sind falsch",
    "MD06": "Rückgabe auf Verlangen des Zahlers",
    "MD07": "Kontoinhaber verstorben",
    "MS02": "Grund vom Zahler nicht angegeben",
    "MS03": "Grund von der Bank nicht angegeben",
    "RR01": "regulatorische Gründe",
    "RR02": "regulatorische Gründe",
    "RR03": "regulatorische Gründe",
    "RR04": "regulatorische Gründe",
    "SL01": "Dienstleistung der Bank",
    "TECH": "technische Gründe",
}


def _eur(cents: int) -> str:
    """As `Money.format_de` ("1.234,56 €"), without building a Money: reasons are made per line."""
    euros, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d}\u00a0€"


# --- reversals --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReversalKeys:
    """What the booking service needs to find the booking a return reverses."""

    end_to_end_id: str  # "" when the bank wrote NOTPROVIDED or nothing
    mandate_id: str
    creditor_id: str
    amount_cents: int  # of the original booking: positive for a returned debit or credit
    counterparty_iban: str
    return_reason: str
    kassenzeichen: tuple[str, ...] = ()  # read in the return's text, when a scheme was given


def is_reversal(line: StatementLine) -> bool:
    """A return or reversal: RvslInd / RC / RD, or a debit that carries a return reason."""
    return line.reversal or (line.amount_cents < 0 and bool(line.return_reason))


def reversal_keys(line: StatementLine, scheme: Scheme | None = None) -> ReversalKeys:
    end_to_end = "" if line.end_to_end_id == "NOTPROVIDED" else line.end_to_end_id
    return ReversalKeys(
        end_to_end_id=end_to_end,
        mandate_id=line.mandate_id,
        creditor_id=line.creditor_id,
        amount_cents=abs(line.amount_cents),
        counterparty_iban=line.counterparty_iban,
        return_reason=line.return_reason,
        kassenzeichen=references.candidates(line, scheme) if scheme is not None else (),
    )


def _return_reason(code: str) -> str:
    code = code.strip()
    if not code:
        return ""
    label = RETURN_REASONS.get(code.upper())
    return f" (Grund {code}: {label})" if label else f" (Grund {code})"


# --- decide -----------------------------------------------------------------------------------


def decide(
    line: StatementLine,
    found: Mapping[str, OpenItem],
    *,
    readings: Sequence[Reading] | None = None,
    payouts: Mapping[str, Payout] = _NO_PAYOUTS,
    payout_refs: Sequence[str] | None = None,
    known_ibans: Mapping[str, set[int]] = _NO_IBANS,
) -> Decision:
    """The decision about one line.

    `found`: the open items that exist for the line's lookup keys (Kassenzeichen and twins), by
    canonical Kassenzeichen, whatever their status. `readings`: what `references.readings` read
    in the line; without it every key of `found` counts as given by the caller (introduced).
    `payouts`: the provider payouts known for `payout_refs` (by default
    `references.payout_references(line)`). `known_ibans`: per IBAN, the receivable ids of
    debtors who paid from it before (it confirms a bare Kassenzeichen, as a similar name does)."""
    amount = line.amount_cents
    if readings is None:
        readings = tuple(
            Reading(kz, Source.GIVEN, How.EXACT, kz, introduced=True) for kz in sorted(found)
        )
    read = tuple([r.kassenzeichen for r in readings])

    if is_reversal(line):
        kind = "Rücklastschrift" if line.amount_cents < 0 else "Rückbuchung"
        end_to_end = "" if line.end_to_end_id == "NOTPROVIDED" else line.end_to_end_id
        ref = f", Ende-zu-Ende-Referenz {end_to_end}" if end_to_end else ""
        return Decision(
            Rule.REVERSAL,
            Outcome.FLAGGED,
            f"{kind}{_return_reason(line.return_reason)} über {_eur(abs(amount))}{ref}: "
            "die ursprüngliche Buchung wird storniert, die Forderung ist wieder offen.",
            candidates=read,
        )
    if amount <= 0:
        return Decision(
            Rule.OUTGOING,
            Outcome.CLEARING,
            f"Abbuchung über {_eur(abs(amount))} ohne Rückgabegrund: kein Zahlungseingang, "
            "bitte im Klärfall zuordnen.",
            candidates=read,
        )
    if line.currency != "EUR":
        return Decision(
            Rule.AMBIGUOUS,
            Outcome.CLEARING,
            f"Gutschrift in {line.currency}: nur Euro-Beträge werden automatisch zugeordnet.",
            suspense_cents=amount,
            candidates=read,
        )

    if payout_refs is None:
        payout_refs = references.payout_references(line) if payouts else ()
    payout = _payout(line, payout_refs, payouts, read)
    if payout is not None:
        return payout

    items = []
    for reading in readings:
        item = found.get(reading.kassenzeichen)
        if item is not None:
            items.append((reading, item))
    if not items:
        return _no_reference(amount, readings, payout_refs)

    decision = _resolve(line, items, found, read, known_ibans)
    strong = [(r, i) for r, i in items if r.introduced]
    if decision.outcome is Outcome.CLEARING and strong and len(strong) < len(items):
        # Introduced Kassenzeichen alone may resolve exactly what bare numbers beside them spoil.
        narrower = _resolve(line, strong, found, read, known_ibans)
        if narrower.outcome is Outcome.BOOKED:
            return narrower
    return decision


def _payout(
    line: StatementLine,
    refs: Sequence[str],
    payouts: Mapping[str, Payout],
    read: tuple[str, ...],
) -> Decision | None:
    known = [payouts[ref] for ref in refs if ref in payouts]
    if not known:
        return None
    amount = line.amount_cents
    if len(known) > 1:
        names = ", ".join(p.reference for p in known)
        return Decision(
            Rule.PAYOUT,
            Outcome.CLEARING,
            f"Mehrere Auszahlungen im Text ({names}): bitte zuordnen.",
            suspense_cents=amount,
            candidates=read,
        )
    payout = known[0]
    if payout.amount_cents != amount:
        return Decision(
            Rule.PAYOUT,
            Outcome.CLEARING,
            f"Auszahlung {payout.reference} von {payout.provider} gefunden, aber gutgeschrieben "
            f"wurden {_eur(amount)} statt der gemeldeten {_eur(payout.amount_cents)}: "
            "bitte klären.",
            suspense_cents=amount,
            candidates=read,
            payout=payout,
        )
    return Decision(
        Rule.PAYOUT,
        Outcome.BOOKED,
        f"Auszahlung {payout.reference} von {payout.provider} über {_eur(amount)} entspricht "
        "der gemeldeten Auszahlung: an das Verrechnungskonto des Zahlungsdienstleisters gebucht.",
        candidates=read,
        payout=payout,
    )


def _no_reference(amount: int, readings: Sequence[Reading], payout_refs: Sequence[str]) -> Decision:
    parts = []
    if readings:
        names = ", ".join(r.kassenzeichen for r in readings)
        several = len(readings) > 1
        parts.append(
            f"Kassenzeichen {names} gelesen, aber keine Forderung mit "
            f"{'diesen Kassenzeichen' if several else 'diesem Kassenzeichen'} gefunden"
        )
    if payout_refs:
        parts.append(f"Auszahlungsreferenz {', '.join(payout_refs)} ist unbekannt")
    if not parts:
        parts.append("Kein gültiges Kassenzeichen im Verwendungszweck oder in den Referenzen")
    return Decision(
        Rule.NO_REFERENCE,
        Outcome.CLEARING,
        f"{'; '.join(parts)}: {_eur(amount)} ins Verwahrgeld, bitte zuordnen.",
        suspense_cents=amount,
        candidates=tuple(r.kassenzeichen for r in readings),
    )


def _is_open(item: OpenItem) -> bool:
    return item.status == OPEN and item.open_cents > 0


def _clearing(rule: Rule, reason: str, amount: int, read: tuple[str, ...]) -> Decision:
    return Decision(rule, Outcome.CLEARING, reason, suspense_cents=amount, candidates=read)


def _resolve(
    line: StatementLine,
    items: list[tuple[Reading, OpenItem]],
    found: Mapping[str, OpenItem],
    read: tuple[str, ...],
    known_ibans: Mapping[str, set[int]],
) -> Decision:
    amount = line.amount_cents
    if len(items) > 1:
        return _several(amount, items, read)
    reading, item = items[0]
    # A twin (one transposition away, unseen by the check digit) that exists makes the reading
    # a guess between two receivables, unless the amount says which one: exactly this one's
    # open amount, and not the twin's as well.
    exact = _is_open(item) and item.open_cents == amount
    for twin in reading.twins:
        other = found.get(twin)
        if other is None or twin in read:
            continue
        if exact and not (_is_open(other) and other.open_cents == amount):
            continue
        return _clearing(
            Rule.AMBIGUOUS,
            f"{reading.describe()}; das Kassenzeichen {twin} unterscheidet sich nur durch "
            f"{_typo(reading.kassenzeichen, twin)}, die Prüfziffer kann beide nicht "
            f"unterscheiden, und beide gibt es: {_eur(amount)} ins Verwahrgeld, bitte zuordnen.",
            amount,
            read,
        )
    return _single(line, reading, item, read, known_ibans)


def _typo(read: str, twin: str) -> str:
    return "zwei vertauschte Ziffern" if sorted(read) == sorted(twin) else "eine Ziffer"


def payer_confirms(
    line: StatementLine, item: OpenItem, known_ibans: Mapping[str, set[int]] = _NO_IBANS
) -> bool:
    """The payer is the debtor as far as the line tells: a similar name, or an IBAN the
    debtor paid from before."""
    if item.receivable_id in known_ibans.get(_compact_iban(line.counterparty_iban), ()):
        return True
    return any(
        name_similarity(name, item.debtor_name) >= NAME_CONFIRMS
        for name in (line.counterparty_name, line.ultimate_party_name)
        if name
    )


def _compact_iban(iban: str) -> str:
    return iban.replace(" ", "").upper()


def _single(
    line: StatementLine,
    reading: Reading,
    item: OpenItem,
    read: tuple[str, ...],
    known_ibans: Mapping[str, set[int]],
) -> Decision:
    amount = line.amount_cents
    found = reading.describe()
    if not _is_open(item):
        state = "storniert" if item.status == "cancelled" else "bereits bezahlt"
        return _clearing(
            Rule.DUPLICATE,
            f"{found}, die Forderung ist aber {state}: mögliche Doppelzahlung, "
            f"{_eur(amount)} ins Verwahrgeld.",
            amount,
            read,
        )
    open_cents = item.open_cents
    allocation = Allocation(item.receivable_id, item.kassenzeichen, min(amount, open_cents))
    if amount == open_cents:
        if not reading.introduced and not payer_confirms(line, item, known_ibans):
            payer = line.counterparty_name or "unbekannt"
            return _clearing(
                Rule.EXACT,
                f"{found}, Betrag {_eur(amount)} entspricht dem offenen Betrag; das "
                "Kassenzeichen stand aber ohne „KZ“ oder „Kassenzeichen“ im Text, und der "
                f"Zahler ({payer}) passt nicht zum Schuldner ({item.debtor_name or 'ohne Namen'})"
                f": nicht automatisch gebucht, {_eur(amount)} ins Verwahrgeld, bitte prüfen.",
                amount,
                read,
            )
        return Decision(
            Rule.EXACT,
            Outcome.BOOKED,
            f"{found}, Betrag {_eur(amount)} entspricht dem offenen Betrag.",
            allocations=(allocation,),
            candidates=read,
        )
    rule = Rule.PARTIAL if amount < open_cents else Rule.OVERPAID
    if not reading.introduced:
        return _clearing(
            rule,
            f"{found}; gezahlt wurden {_eur(amount)}, offen sind {_eur(open_cents)}. Ohne "
            "„KZ“ oder „Kassenzeichen“ davor und bei abweichendem Betrag wird nicht "
            f"automatisch gebucht: {_eur(amount)} ins Verwahrgeld, bitte prüfen.",
            amount,
            read,
        )
    if rule is Rule.PARTIAL:
        return Decision(
            rule,
            Outcome.FLAGGED,
            f"{found}; gezahlt wurden {_eur(amount)} von offenen {_eur(open_cents)}: als "
            f"Teilzahlung gebucht, es bleiben {_eur(open_cents - amount)} offen.",
            allocations=(allocation,),
            candidates=read,
        )
    excess = amount - open_cents
    return Decision(
        rule,
        Outcome.FLAGGED,
        f"{found}; gezahlt wurden {_eur(amount)}, offen waren nur {_eur(open_cents)}: "
        f"{_eur(open_cents)} gebucht, {_eur(excess)} als Überzahlung ins Verwahrgeld.",
        allocations=(allocation,),
        suspense_cents=excess,
        candidates=read,
    )


def _several(amount: int, items: list[tuple[Reading, OpenItem]], read: tuple[str, ...]) -> Decision:
    listed = ", ".join(f"{item.kassenzeichen} (offen {_eur(item.open_cents)})" for _, item in items)
    closed = [item for _, item in items if not _is_open(item)]
    if closed:
        names = ", ".join(item.kassenzeichen for item in closed)
        return _clearing(
            Rule.AMBIGUOUS,
            f"Mehrere Kassenzeichen gefunden: {listed}; {names} ist bereits bezahlt oder "
            f"storniert: {_eur(amount)} ins Verwahrgeld, bitte zuordnen.",
            amount,
            read,
        )
    total = sum(item.open_cents for _, item in items)
    if total != amount:
        return _clearing(
            Rule.AMBIGUOUS,
            f"Mehrere Kassenzeichen gefunden: {listed}; zusammen {_eur(total)}, gezahlt wurden "
            f"{_eur(amount)}: ins Verwahrgeld, bitte aufteilen.",
            amount,
            read,
        )
    where = sorted({(r.source.where if not r.rf else "in der RF-Referenz") for r, _ in items})
    return Decision(
        Rule.SPLIT,
        Outcome.BOOKED,
        f"Kassenzeichen {listed} {' und '.join(where)} gefunden; die offenen Beträge ergeben "
        f"zusammen genau {_eur(amount)}: aufgeteilt gebucht.",
        allocations=tuple(
            Allocation(item.receivable_id, item.kassenzeichen, item.open_cents) for _, item in items
        ),
        candidates=read,
    )


# --- a batch ----------------------------------------------------------------------------------


def match_batch(
    lines: Sequence[StatementLine],
    scheme: Scheme,
    *,
    lookup: Callable[[Collection[str]], Mapping[str, OpenItem]],
    payout_lookup: Callable[[Collection[str]], Mapping[str, Payout]] | None = None,
    years: Collection[str] | None = None,
    payout_pattern: re.Pattern[str] = references.PAYOUT_PATTERN,
    known_ibans: Mapping[str, set[int]] = _NO_IBANS,
) -> list[Decision]:
    """Decide a batch with one call of `lookup` (and of `payout_lookup`) for all its lines."""
    read = references.batch_readings(lines, scheme, years=years)
    keys: set[str] = set()
    for found in read:
        keys |= references.lookup_keys(found)
    items = lookup(keys) if keys else {}
    refs: list[tuple[str, ...]] = [()] * len(lines)
    payouts: Mapping[str, Payout] = _NO_PAYOUTS
    if payout_lookup is not None:
        refs = [references.payout_references(line, payout_pattern) for line in lines]
        wanted = {ref for group in refs for ref in group}
        payouts = payout_lookup(wanted) if wanted else _NO_PAYOUTS
    return [
        decide(
            line,
            items,
            readings=found,
            payouts=payouts,
            payout_refs=line_refs,
            known_ibans=known_ibans,
        )
        for line, found, line_refs in zip(lines, read, refs, strict=True)
    ]


# --- suggestions for the clearing queue -------------------------------------------------------

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
#: Words that say nothing about who paid.
_NOISE = frozenset(
    {"herr", "herrn", "frau", "familie", "fam", "eheleute", "und", "dr", "prof", "von", "van",
     "der", "den", "de", "gmbh", "ag", "kg", "ug", "ev", "co", "mbh", "e", "v"}
)  # fmt: skip


@lru_cache(maxsize=65_536)
def name_tokens(name: str) -> frozenset[str]:
    """Lower case, umlauts spelt out, accents dropped, titles and legal forms left out."""
    folded = name.lower().translate(_FOLD)
    plain = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return frozenset(w for w in _WORD.findall(plain) if w not in _NOISE and len(w) > 1)


def name_similarity(a: str, b: str) -> float:
    """0..1: the share of the shorter name's words found in the other (order and umlaut
    spelling do not matter: "Müller, Hans" and "HANS MUELLER" are 1.0)."""
    left, right = name_tokens(a), name_tokens(b)
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))


def suggest(
    line: StatementLine,
    pool: Iterable[OpenItem],
    *,
    known_ibans: Mapping[str, set[int]] = _NO_IBANS,
    today: dt.date | None = None,
    limit: int = 5,
    readings: Sequence[Reading] = (),
) -> list[Suggestion]:
    """The open items the clearing queue offers for a line, best first.

    `known_ibans`: per IBAN, the receivable ids of debtors who paid from it before. `today`
    (default: the line's booking date) is what due dates are measured against. A Kassenzeichen
    read in the line (`readings`) counts most, then the same amount, a similar name, a known
    IBAN and a close due date."""
    amount = line.amount_cents
    ref_date = today or line.booking_date or line.value_date
    payer = " ".join(n for n in (line.counterparty_name, line.ultimate_party_name) if n)
    payer_tokens = name_tokens(payer)
    iban_ids = known_ibans.get(_compact_iban(line.counterparty_iban), set())
    read = {r.kassenzeichen: r for r in readings}
    ranked: list[tuple[float, int, int, Suggestion]] = []
    for item in pool:
        if not _is_open(item):
            continue
        score, reasons = 0.0, []
        if item.kassenzeichen in read:
            score += 0.45
            reasons.append(f"Kassenzeichen {read[item.kassenzeichen].source.where}")
        if item.open_cents == amount:
            score += 0.3
            reasons.append(f"gleicher Betrag ({_eur(amount)})")
        elif item.total_cents == amount:
            score += 0.1
            reasons.append(f"Betrag gleich der ursprünglichen Forderung ({_eur(amount)})")
        if payer_tokens and item.debtor_name:
            debtor = name_tokens(item.debtor_name)
            similarity = (
                len(payer_tokens & debtor) / min(len(payer_tokens), len(debtor)) if debtor else 0
            )
            if similarity >= NAME_CONFIRMS:
                score += 0.25 * similarity
                reasons.append(
                    f"Name {'gleich' if similarity == 1 else 'ähnlich'} ({item.debtor_name})"
                )
        if item.receivable_id in iban_ids:
            score += 0.2
            reasons.append("IBAN des Zahlers von diesem Schuldner bekannt")
        distance = 10**6
        if ref_date is not None and item.due_date is not None:
            distance = abs((item.due_date - ref_date).days)
            if distance <= 30:
                score += 0.1 * (1 - distance / 31)
                reasons.append(f"fällig am {item.due_date:%d.%m.%Y}")
        if not reasons:
            continue
        suggestion = Suggestion(item, round(min(score, 1.0), 3), tuple(reasons))
        ranked.append((-suggestion.score, distance, item.receivable_id, suggestion))
    ranked.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in ranked[:limit]]
