"""Open items here and in the finance system: which one has what the other lacks.

The finance system's open-item list (Offene-Posten-Liste) is a CSV file read with an open-item
profile (`OpenItemProfile`: its Kassenzeichen and amount columns, separator, encoding, decimal
comma); the amount is what it still has open. Ours is the ledger balance of every receivable
(its open item), whatever its status says.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rathauskasse.finance import openitems
from rathauskasse.finance.models import OpenItemProfile
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.organisations.models import Organisation
from rathauskasse.receivables import selectors as receivable_selectors
from rathauskasse.receivables.kassenzeichen import InvalidKassenzeichen, Scheme
from rathauskasse.receivables.models import ReceivableStatus


@dataclass(frozen=True, slots=True)
class Difference:
    kassenzeichen: str  # as the organisation prints it
    finance_cents: int | None  # open in the finance system; None: not in its list
    ours_cents: int | None  # open here; None: no receivable with this Kassenzeichen
    note: str = ""


@dataclass
class Report:
    #: In the finance system's list, not open here (unknown, paid or cancelled here).
    only_in_finance: list[Difference] = field(default_factory=list)
    #: Open here, not in the finance system's list.
    only_here: list[Difference] = field(default_factory=list)
    #: Open on both sides with different amounts.
    amounts_differ: list[Difference] = field(default_factory=list)
    matched: int = 0
    #: Rows of the file that could not be read (the rest is compared all the same).
    errors: list[openitems.RowError] = field(default_factory=list)

    @property
    def in_agreement(self) -> bool:
        return not (self.only_in_finance or self.only_here or self.amounts_differ or self.errors)


def _read(data: bytes, profile: OpenItemProfile, scheme: Scheme, report: Report) -> dict[str, int]:
    """Open amount per canonical Kassenzeichen of the finance system's list."""
    parsed = openitems.Parsed()
    text = openitems.decode(data, profile.encoding, parsed)
    report.errors.extend(parsed.errors)
    if text is None:
        return {}
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=profile.delimiter, quotechar=profile.quote_char
    )
    wanted = {"kassenzeichen": profile.column("kassenzeichen"), "amount": profile.column("amount")}
    at: dict[str, int] = {}
    found: dict[str, int] = {}
    for number, cells in enumerate(reader, start=1):
        if number == 1:
            if profile.has_header:
                names = [cell.strip().casefold() for cell in cells]
                for key, column in wanted.items():
                    if column.casefold() not in names:
                        report.errors.append(
                            openitems.RowError(1, column, f"Die Spalte „{column}“ fehlt.")
                        )
                        return {}
                    at[key] = names.index(column.casefold())
                continue
            at = {key: int(column) - 1 for key, column in wanted.items()}
        if not any(cell.strip() for cell in cells):
            continue
        try:
            raw_kz, raw_amount = cells[at["kassenzeichen"]], cells[at["amount"]]
        except IndexError:
            report.errors.append(openitems.RowError(number, "", "Die Zeile ist zu kurz."))
            continue
        try:
            canonical = scheme.validate(raw_kz)
        except InvalidKassenzeichen as exc:
            report.errors.append(openitems.RowError(number, wanted["kassenzeichen"], exc.message))
            continue
        try:
            cents = openitems.parse_amount(
                raw_amount,
                decimal=profile.decimal_separator,
                thousands=profile.thousands_separator,
            )
        except openitems._Refused as exc:
            report.errors.append(openitems.RowError(number, wanted["amount"], exc.message))
            continue
        found[canonical] = found.get(canonical, 0) + cents
    return found


def compare(*, organisation: Organisation, profile: OpenItemProfile, data: bytes) -> Report:
    report = Report()
    scheme = Scheme.of(organisation)
    theirs = _read(data, profile, scheme, report)
    # Open here is what the ledger says: the balance of the receivable's open item.
    balances = ledger_selectors.nonzero_open_item_balances(organisation_id=organisation.pk)
    receivables = receivable_selectors.receivables(organisation=organisation)
    ours_open = dict(receivables.filter(pk__in=balances).values_list("kassenzeichen", "pk"))
    status_of = dict(
        receivables.filter(kassenzeichen__in=set(theirs) - set(ours_open)).values_list(
            "kassenzeichen", "status"
        )
    )
    labels = dict(ReceivableStatus.choices)
    for canonical, cents in sorted(theirs.items()):
        shown = scheme.display(canonical)
        if canonical not in ours_open:
            status = status_of.get(canonical)
            note = f"hier {labels[status]}" if status else "hier unbekannt"
            report.only_in_finance.append(Difference(shown, cents, None, note))
            continue
        ours = balances[ours_open[canonical]]
        if ours != cents:
            report.amounts_differ.append(Difference(shown, cents, ours))
        else:
            report.matched += 1
    for canonical, pk in sorted(ours_open.items()):
        if canonical not in theirs:
            report.only_here.append(Difference(scheme.display(canonical), None, balances[pk]))
    return report
