"""Benchmark: the pure matching engine, in lines per second, and how often it books wrongly.

Generates M open items (Kassenzeichen of the organisation's default scheme over four years,
amounts with the common fees of bulk notices, debtors from a small pool of names so that names
repeat) in a dict, and N statement lines with the issue's mix:

- 70 % clean: the Kassenzeichen as written on the notice, with or without "KZ"/"Kassenzeichen",
  grouped or not, as RF reference or end-to-end id, sometimes beside dates, IBANs, phone
  numbers; mostly the open amount, some partial and overpayments;
- 15 % messy: a line break or space inside, O/I/l/S/B confusions, one wrong digit, two digits
  swapped, a digit dropped;
- 5 % several Kassenzeichen, mostly paying their sum;
- 10 % none: purpose, names, customer and invoice numbers (also bare numbers of the
  Kassenzeichen's length), dates, IBANs.

Payers are mostly the debtor (name spelt in other ways), sometimes someone else. It then runs
`matching.match_batch` over batches of 1,000 lines, as the booking service does (one dict lookup
per batch), and counts per line whether the decision booked to a receivable the payer did not
mean: that count must be 0. No database: the lookups are dict lookups, so the figure is the
engine's own cost (parse and book come on top).

    .venv/bin/python bench/match_lines.py [--lines 100000] [--items 1000000]
        [--algorithm luhn] [--number-digits 6] [--seed 1]

Prints the machine and versions, and as its last line one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import sys
import time
import timeit
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

FIRST = ("Hans", "Anna", "Jürgen", "Özlem", "Maria", "Peter", "Sabine", "Thomas", "Fatma",
         "Michael", "Ursula", "Stefan", "Monika", "Andreas", "Petra", "Klaus", "Elif", "Jan",
         "Katrin", "Wolfgang")  # fmt: skip
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Yılmaz",
        "Kaya", "Nowak", "Groß", "Krüger", "Hartmann", "Lange", "Werner", "Köhler")  # fmt: skip
FEES = (9600, 4500, 2500, 12000, 3000, 1500, 6000, 15000, 7500, 5000, 18000, 3600)
PURPOSES = ("Hundesteuer", "Grundsteuer B", "Gebühr Personalausweis", "Parkgebühr",
            "Müllgebühren 1. Quartal", "Kita-Beitrag", "Bußgeld", "Sondernutzung")  # fmt: skip
CONFUSE = {"0": "O", "1": "l", "5": "S", "8": "B"}


def setup_django() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rathauskasse.config.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def machine() -> dict[str, Any]:
    import django

    return {
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": "none (dict lookups)",
    }


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        from rathauskasse.receivables.kassenzeichen import Scheme

        self.rng = random.Random(args.seed)
        self.scheme = Scheme("", 2, args.number_digits, args.algorithm)
        self.years = (2023, 2024, 2025, 2026)

    def name(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def amount(self) -> int:
        if self.rng.random() < 0.4:
            return self.rng.choice(FEES)
        return self.rng.randrange(500, 200_000)

    def items(self, count: int) -> dict[str, Any]:
        from rathauskasse.reconciliation.decisions import OpenItem

        per_year = -(-count // len(self.years))
        numbers = range(1, 10**self.scheme.number_digits)
        items: dict[str, OpenItem] = {}
        receivable_id = 0
        for year in self.years:
            for number in self.rng.sample(numbers, min(per_year, count - receivable_id)):
                receivable_id += 1
                value = self.scheme.build(year=year, number=number)
                paid = self.rng.random() < 0.03
                amount = self.amount()
                items[value] = OpenItem(
                    receivable_id=receivable_id,
                    kassenzeichen=value,
                    open_cents=0 if paid else amount,
                    status="paid" if paid else "open",
                    debtor_name=self.name(),
                    due_date=dt.date(year, 3, 15),
                    total_cents=amount,
                )
        return items

    # -- how payers write -------------------------------------------------------------------
    def written(self, value: str) -> str:
        r = self.rng.random()
        if r < 0.3:
            return value
        if r < 0.5:
            return self.scheme.display(value)
        if r < 0.6:
            return f"{value[:4]} {value[4:]}"
        return value

    def noise(self) -> str:
        rng = self.rng
        length = self.scheme.length
        choices = [
            f"vom {rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.2026",
            f"Rechnung 2026-{rng.randint(1, 9999):04d}",
            f"Kundennr. {rng.randrange(10 ** (length - 1), 10**length)}",
            f"Vertrag {rng.randrange(10 ** (length - 1), 10**length)}",
            f"{rng.randrange(10 ** (length - 1), 10**length)}",  # bare, the Kassenzeichen's length
            "IBAN DE02 1203 0000 0000 2020 51",
            f"Tel. 02421 {rng.randint(100, 99999)}",
            f"{rng.randint(1, 40)} Stk",
        ]
        return rng.choice(choices)

    def payer(self, debtor: str) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            return self.name()
        first, last = debtor.split(" ", 1)
        return rng.choice(
            [debtor, f"{last}, {first}", debtor.upper(), f"{first[0]}. {last}", f"Familie {last}"]
        )

    def clean(self, target: Any, purpose: str, fields: dict[str, Any]) -> tuple[str, int]:
        from rathauskasse.core import iso11649

        rng = self.rng
        style = rng.random()
        value = self.written(target.kassenzeichen)
        if style < 0.35:
            text = f"KZ {value} {purpose}"
        elif style < 0.55:
            text = f"Kassenzeichen: {value} {purpose}"
        elif style < 0.80:
            text = f"{purpose} {value}"
        elif style < 0.90:
            text = purpose
            fields["structured_reference"] = iso11649.creditor_reference(target.kassenzeichen)
        else:
            text = purpose
            fields["end_to_end_id"] = target.kassenzeichen
        if rng.random() < 0.3:
            text = f"{text} {self.noise()}"
        amount = target.open_cents
        kind = rng.random()
        if kind < 0.10:
            amount = rng.randrange(1, amount)
        elif kind < 0.15:
            amount += rng.randrange(1, 5000)
        return text, amount

    def messy(self, digits: str, purpose: str) -> str:
        rng = self.rng
        sub = rng.randrange(5)
        if sub == 0:  # a line break or space inside
            cut = rng.randrange(1, len(digits))
            written = digits[:cut] + rng.choice(["\n", " ", "-\n"]) + digits[cut:]
        elif sub == 1:  # letters that look like digits
            places = [i for i, c in enumerate(digits) if c in CONFUSE]
            chosen = set(rng.sample(places, min(len(places), 2)))
            written = "".join(CONFUSE[c] if i in chosen else c for i, c in enumerate(digits))
        elif sub == 2:  # one wrong digit
            i = rng.randrange(len(digits))
            wrong = rng.choice([d for d in "0123456789" if d != digits[i]])
            written = digits[:i] + wrong + digits[i + 1 :]
        elif sub == 3:  # two digits swapped
            pairs = [i for i in range(len(digits) - 1) if digits[i] != digits[i + 1]]
            i = rng.choice(pairs)
            written = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        else:  # a digit dropped
            i = rng.randrange(len(digits))
            written = digits[:i] + digits[i + 1 :]
        return rng.choice([f"KZ {written} {purpose}", f"{purpose} {written}"])

    def several(self, target: Any, open_items: list[Any]) -> tuple[str, int, set[int]]:
        rng = self.rng
        chosen = [target, *rng.sample(open_items, rng.randint(1, 2))]
        names = [self.written(i.kassenzeichen) for i in chosen]
        text = rng.choice(
            [f"KZ {', '.join(names)}", f"Kassenzeichen {' / '.join(names)}", " ".join(names)]
        )
        amount = sum(i.open_cents for i in chosen)
        if rng.random() < 0.2:
            amount -= rng.randrange(1, min(i.open_cents for i in chosen))
        return text, amount, {i.receivable_id for i in chosen}

    def line(self, open_items: list[Any]) -> tuple[Any, set[int], str]:
        """A statement line, the receivables its payer meant, and its kind in the mix."""
        from rathauskasse.reconciliation.lines import StatementInfo, StatementLine

        rng = self.rng
        fields: dict[str, Any] = {}
        target = rng.choice(open_items)
        purpose = rng.choice(PURPOSES)
        payer = self.payer(target.debtor_name)
        r = rng.random()
        if r < 0.70:
            kind, intended = "clean", {target.receivable_id}
            text, amount = self.clean(target, purpose, fields)
        elif r < 0.85:
            # A typo leaves the payer meaning the target: booking it there would be right,
            # booking anywhere else is wrong.
            kind, intended = "messy", {target.receivable_id}
            text, amount = self.messy(target.kassenzeichen, purpose), target.open_cents
        elif r < 0.90:
            kind = "several"
            text, amount, intended = self.several(target, open_items)
        else:
            kind, intended = "none", set()
            text = f"{purpose} {self.name()} {self.noise()}"
            if rng.random() < 0.5:
                text = f"{text} {self.noise()}"
            amount, payer = self.amount(), self.name()
        line = StatementLine(
            statement=StatementInfo(format="camt.053.001.08", statement_id="B", account_iban=""),
            entry_index=1,
            transaction_index=0,
            amount_cents=amount,
            currency="EUR",
            booking_date=dt.date(2026, 3, 12),
            value_date=dt.date(2026, 3, 12),
            remittance_text=text,
            counterparty_name=payer,
            **fields,
        )
        return line, intended, kind


def evaluate(lines: list[Any], decisions: list[Any], items: dict[str, Any]) -> dict[str, Any]:
    """Wrong bookings (to a receivable the payer did not mean) and what was booked per kind."""
    from rathauskasse.reconciliation.decisions import Outcome

    by_id = {i.receivable_id: i for i in items.values()}
    wrong = 0
    outcomes: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    right_auto: Counter[str] = Counter()
    per_kind: Counter[str] = Counter()
    examples = []
    for (line, intended, kind), decision in zip(lines, decisions, strict=True):
        per_kind[kind] += 1
        outcomes[f"{kind}:{decision.outcome}"] += 1
        rules[str(decision.rule)] += 1
        booked = {a.receivable_id for a in decision.allocations}
        if booked - intended:
            wrong += 1
            if len(examples) < 5:
                examples.append({"text": line.remittance_text, "reason": decision.reason,
                                 "booked": [by_id[b].kassenzeichen for b in booked]})  # fmt: skip
        elif booked and decision.outcome is not Outcome.CLEARING:
            right_auto[kind] += 1
        assert decision.allocated_cents + decision.suspense_cents <= line.amount_cents
    return {
        "wrong_bookings": wrong,
        "booked_automatically": {k: f"{right_auto[k]}/{per_kind[k]}" for k in sorted(per_kind)},
        "outcomes": dict(sorted(outcomes.items())),
        "rules": dict(sorted(rules.items())),
        "wrong_examples": examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--algorithm", default="luhn")
    parser.add_argument("--number-digits", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    setup_django()
    from rathauskasse.reconciliation import matching, references
    from rathauskasse.reconciliation.decisions import OpenItem

    info = machine()
    print(json.dumps(info))
    generator = Generator(args)
    started = time.perf_counter()
    items = generator.items(args.items)
    open_items = [i for i in items.values() if i.status == "open"]
    lines = [generator.line(open_items) for _ in range(args.lines)]
    print(f"generated {len(items)} items and {len(lines)} lines in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    # The million items live as long as the process: keep the collector from walking them again
    # and again (it would charge seconds to whatever code runs when it starts).
    gc.collect()
    gc.freeze()
    scheme = generator.scheme
    years = frozenset(f"{y % 100:02d}" for y in generator.years)
    lookups = 0

    def lookup(keys: Collection[str]) -> Mapping[str, OpenItem]:
        nonlocal lookups
        lookups += 1
        return {k: items[k] for k in keys if k in items}

    # A fixed piece of pure Python, timed in the same run: the machine is shared, so figures
    # are only comparable next to this (on a quiet machine it takes about 10 µs).
    reference_us = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
    just_lines = [entry[0] for entry in lines]
    started = time.perf_counter()
    references.batch_readings(just_lines, scheme, years=years)
    read_seconds = time.perf_counter() - started

    decisions = []
    started = time.perf_counter()
    for start in range(0, len(just_lines), args.batch):
        batch = just_lines[start : start + args.batch]
        decisions += matching.match_batch(batch, scheme, lookup=lookup, years=years)
    seconds = time.perf_counter() - started

    result = {
        "bench": "match_lines",
        "lines": len(lines),
        "items": len(items),
        "algorithm": args.algorithm,
        "kz_length": scheme.length,
        "batch": args.batch,
        "lookups": lookups,
        "lines_per_s": round(len(lines) / seconds),
        "read_only_lines_per_s": round(len(lines) / read_seconds),
        "seconds": round(seconds, 3),
        "reference_sum_range_1000_us": round(reference_us, 1),
        **evaluate(lines, decisions, items),
        **info,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
