"""Reading Kassenzeichen (and provider payout references) out of a statement line.

Pure functions, no database: `readings(line, scheme)` returns every scheme-valid Kassenzeichen
the line's texts carry, with where and how it was read, so that the caller can look all of a
batch's candidates up at once (`lookup_keys`) and hand the open items to `matching.decide`.

What counts as a reading, and why (decision 0027):

- Digits are read in groups separated by at most three of space, line break, dash, dot, slash or
  underscore; a candidate is a whole run of such groups, never a piece of a group, so a number
  glued to letters ("Rg12345678"), an IBAN or a longer number does not yield a Kassenzeichen
  hiding inside it. IBANs (checked with MOD 97), dates and telephone numbers are skipped before
  anything else is read.
- A candidate must have the scheme's exact length after dropping extra leading zeros, start with
  its prefix, have a running number that is not zero, have a year part the caller calls plausible
  (`years`, e.g. the year parts of the organisation's receivables), and pass the check digit.
  Missing leading zeros are filled in only right after "KZ"/"Kassenzeichen" or when a structured
  field holds nothing else: a bare "18" in a text is anything.
- A random digit string of the right length passes a one-digit check one time in ten. The check
  digit alone therefore does not make a number a Kassenzeichen: `Reading.introduced` says whether
  it was introduced ("KZ", "Kassenzeichen", a list after them, an RF reference, or the whole of a
  structured field). The matcher books a bare number from free text only when the amount
  confirms it exactly; a different amount needs an introduced reading.
- Confusions (O/o→0, I/l→1, S→5, B→8) are corrected only when the scheme has a check digit, the
  text as written is not a valid Kassenzeichen (it contains the letter), at most three letters
  are replaced, and the corrected text passes the check. The mapping is one digit per letter, so a
  token has one corrected reading; if a run still yields two different corrected readings, none of
  them counts: the check digit would be choosing between them, and it is not strong enough for
  that.
- One check digit does not see every typo (Luhn misses 09↔90; mod 11 maps a remainder of 10 to 0
  and so misses some wrong digits). `Reading.twins` lists the other valid Kassenzeichen one such
  typo away; the caller looks them up too, and the matcher does not guess between a reading and
  an existing twin.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from rathauskasse.core import checkdigits, iso11649
from rathauskasse.receivables.kassenzeichen import Scheme
from rathauskasse.reconciliation.lines import StatementLine


class Source(StrEnum):
    """Where in the line a Kassenzeichen was read; `where` is the German phrase for reasons."""

    REMITTANCE = "remittance_text"
    STRUCTURED = "structured_reference"
    END_TO_END = "end_to_end_id"
    CUSTOMER = "customer_reference"
    GIVEN = "given"  # handed to the matcher by the caller, not read here

    @property
    def where(self) -> str:
        return _WHERE[self]


_WHERE = {
    Source.REMITTANCE: "im Verwendungszweck",
    Source.STRUCTURED: "in der strukturierten Referenz",
    Source.END_TO_END: "in der Ende-zu-Ende-Referenz",
    Source.CUSTOMER: "in der Kundenreferenz",
    Source.GIVEN: "in den Angaben zur Buchung",
}


class How(StrEnum):
    EXACT = "exact"  # as written, digits only
    NORMALISED = "normalised"  # separators, line breaks or leading zeros dropped or added
    CORRECTED = "corrected"  # letters read as the digits they resemble, confirmed by the check


class Reading(NamedTuple):
    """One Kassenzeichen read in a line (a named tuple: readings are made per line, fast)."""

    kassenzeichen: str  # canonical, compact
    source: Source
    how: How
    text: str  # as it stood in the line
    introduced: bool = False  # after "KZ"/"Kassenzeichen", an RF reference, a whole field
    corrections: tuple[str, ...] = ()  # "O→0", "I→1", ... in the order of the alphabet
    rf: bool = False  # read from an ISO 11649 creditor reference
    twins: tuple[str, ...] = ()  # valid Kassenzeichen one undetected typo away

    def describe(self) -> str:
        """ "Kassenzeichen 5126000123 im Verwendungszweck gefunden (gelesen mit O→0)"."""
        where = "in der RF-Referenz" if self.rf else self.source.where
        text = f"Kassenzeichen {self.kassenzeichen} {where} gefunden"
        if self.how is How.CORRECTED:
            text += f" (gelesen mit {', '.join(self.corrections)} aus „{self.text}“)"
        elif self.how is How.NORMALISED:
            text += f" (geschrieben „{self.text}“)"
        return text


# --- the scanner ------------------------------------------------------------------------------

_CONFUSABLE = "OoIlSB"
_CONFUSION = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "S": "5", "B": "8"})
_CONFUSION_LABEL = {"O": "O→0", "o": "o→0", "I": "I→1", "l": "l→1", "S": "S→5", "B": "B→8"}
MAX_CORRECTIONS = 3
MAX_EXTRA_ZEROS = 4

# A run: groups of digits (and letters that look like digits) separated by at most three
# separators, starting at a digit. Starting at a digit lets the regex engine skip text quickly
# (a pattern that starts with lookbehinds or alternatives is tried at every position, ten times
# slower); what stands before the run (a keyword, letters it is glued to, an IBAN's country code,
# "RF", "Tel.") is looked at in Python, only where a run begins.
_RUN = re.compile(
    rf"[0-9][0-9{_CONFUSABLE}]*(?:[\s\-./_]{{1,3}}[{_CONFUSABLE}]*[0-9][0-9{_CONFUSABLE}]*)*"
)
# What stands right before a run: matched once, anchored, against the reversed text before it
# (a forward search would try every one of the characters there). Reversed, "Kassenzeichen-Nr.: "
# reads " :.rN-nehciezessaK"; the keyword must not be the end of a longer word.
_BEFORE_REVERSED = re.compile(
    r"(?i:(?P<kw>[\s:.#\-]*(?:(?:rn|remmun)[\s:.#\-]*)?"
    r"(?:(?:remmun|rn)?nehciez-?nessak|znessak|(?:rn-?)?zk))"
    r"|(?P<phone>\(?\s*:?\.?(?:nofelet|let|nof|xaf|libom|ydnah)))(?![a-zäöüß])"
)
_LOOK_BACK = 32
_IBAN = re.compile(
    r"[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])"
)
_RF = re.compile(r"RF[0-9]{2}(?: ?[0-9A-Z]){1,21}(?![A-Za-z0-9])")
_DATE = re.compile(
    r"(?<![0-9])(?:(?:0?[1-9]|[12][0-9]|3[01])[./](?:0?[1-9]|1[0-2])[./](?:19|20)?[0-9]{2}"
    r"|(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]))(?![0-9])"
)
_TOKEN = re.compile(rf"[0-9{_CONFUSABLE}]*")
_LAST_SEP = re.compile(r"[\s\-./_]{1,3}(?=[^\s\-./_]*\Z)")
_GROUP = re.compile(rf"(?:[{_CONFUSABLE}]*[0-9])+[{_CONFUSABLE}]*")
# What may stand between the numbers of a list after "Kassenzeichen": "KZ 1, 2 und 3".
_LIST_GAP = re.compile(r"\s*(?:[,;&+]|und|u\.|sowie)\s*(?:(?i:kz)\s*)?", re.IGNORECASE)
_NOTPROVIDED = "NOTPROVIDED"
_SUBSTITUTION_SAFE = frozenset({checkdigits.LUHN, checkdigits.WEIGHTED_2N})


_LUHN_DOUBLED = {str(d): (2 * d - 9 if d > 4 else 2 * d) for d in range(10)}


def fast_luhn(body: str) -> str:
    """`checkdigits.luhn` for ASCII digits, with the loops in C: every line is checked."""
    total = sum(map(_LUHN_DOUBLED.__getitem__, body[::-2])) + sum(map(int, body[-2::-2]))
    return str(-total % 10)


_FAST = {checkdigits.LUHN: fast_luhn}


def _iban_valid(compact: str) -> bool:
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


class _Reader:
    """A scheme's reading rules, compiled once (`_reader` caches it per scheme and years)."""

    def __init__(self, scheme: Scheme, years: frozenset[str] | None) -> None:
        algorithm = checkdigits.get(scheme.algorithm)
        self.compute = _FAST.get(scheme.algorithm, algorithm.compute)
        self.width = algorithm.width
        self.prefix = scheme.prefix
        self.length = len(scheme.prefix) + scheme.year_digits + scheme.number_digits + self.width
        self.year_start = len(scheme.prefix)
        self.number_start = self.year_start + scheme.year_digits
        self.number_end = self.number_start + scheme.number_digits
        self.zero_number = "0" * scheme.number_digits
        self.years = years if scheme.year_digits else None
        self.luhn = scheme.algorithm == checkdigits.LUHN
        self.mod11 = scheme.algorithm == checkdigits.MOD11
        # Luhn and the weighted 2^n method catch every single wrong digit; others may not.
        self.substitutions = scheme.algorithm not in _SUBSTITUTION_SAFE

    # -- validity --------------------------------------------------------------------------
    def valid(self, digits: str) -> bool:
        """`digits` (ASCII digits, the scheme's length) is a Kassenzeichen of the scheme."""
        if self.prefix and not digits.startswith(self.prefix):
            return False
        if self.years is not None and digits[self.year_start : self.number_start] not in self.years:
            return False
        if digits[self.number_start : self.number_end] == self.zero_number:
            return False
        if self.width:
            return self.compute(digits[:-1]) == digits[-1]
        return True

    def twins(self, kassenzeichen: str) -> tuple[str, ...]:
        """Other valid Kassenzeichen one typo away that the check digit does not catch: an
        adjacent transposition, or (where the algorithm misses some) a single wrong digit."""
        if not self.width or (
            self.luhn and "09" not in kassenzeichen and "90" not in kassenzeichen
        ):
            return ()
        found = []
        # Mod 11 sees every error in the body unless the check is 0 (a remainder of 10 or 11):
        # otherwise only swapping the check digit itself can hide.
        first = len(kassenzeichen) - 2 if self.mod11 and kassenzeichen[-1] != "0" else 0
        for i in range(first, len(kassenzeichen) - 1):
            a, b = kassenzeichen[i], kassenzeichen[i + 1]
            if a == b:
                continue
            # Luhn detects every adjacent transposition except 09 ↔ 90: skip the others unseen.
            if self.luhn and a + b not in {"09", "90"}:
                continue
            swapped = kassenzeichen[:i] + b + a + kassenzeichen[i + 2 :]
            if self.valid(swapped):
                found.append(swapped)
        if self.substitutions and (not self.mod11 or kassenzeichen[-1] == "0"):
            # Mod 11 misses a wrong digit only where a remainder of 10 became the check 0.
            for i in range(len(kassenzeichen) - 1):
                for digit in "0123456789":
                    if digit != kassenzeichen[i]:
                        changed = kassenzeichen[:i] + digit + kassenzeichen[i + 1 :]
                        if self.valid(changed):
                            found.append(changed)
        return tuple(dict.fromkeys(found))

    # -- one window of digit groups --------------------------------------------------------
    def canonical(self, raw: str, *, may_fill: bool) -> tuple[str, How, tuple[str, ...]] | None:
        """The Kassenzeichen `raw` (groups without separators) stands for, and how it was read."""
        how = How.EXACT
        corrections: tuple[str, ...] = ()
        compact = raw
        if not compact.isdigit():
            if not self.width:
                return None
            letters = [c for c in compact if c in _CONFUSION_LABEL]
            if len(letters) > MAX_CORRECTIONS:
                return None
            compact = compact.translate(_CONFUSION)
            corrections = tuple(sorted({_CONFUSION_LABEL[c] for c in letters}))
            how = How.CORRECTED
        size = len(compact)
        if size > self.length:
            extra = size - self.length
            if extra > MAX_EXTRA_ZEROS or compact[:extra].strip("0"):
                return None
            compact = compact[extra:]
            how = how if how is How.CORRECTED else How.NORMALISED
        elif size < self.length:
            if not may_fill:
                return None
            compact = compact.zfill(self.length)
            how = how if how is How.CORRECTED else How.NORMALISED
        if not self.valid(compact):
            return None
        return compact, how, corrections

    def read(self, text: str, source: Source, *, structured: bool) -> list[Reading]:
        out: list[Reading] = []
        size = len(text)
        first, last = (size - len(text.lstrip()), len(text.rstrip())) if structured else (-1, -1)
        pos = 0
        list_end = -1  # where the last introduced run ended: a list may continue there
        search = _RUN.search
        while True:
            match = search(text, pos)
            if match is None:
                return out
            start, end = match.span()
            pos = end
            opening = self._opening(text, start, source, out)
            if opening is None:  # a telephone number: skip all of it
                list_end = -1
                continue
            if isinstance(opening, int):  # not a number of ours: go on from there
                pos, list_end = max(opening, start + 1), -1
                continue
            start, lead, introduced = opening
            if not introduced and list_end >= 0:
                introduced = _LIST_GAP.fullmatch(text, list_end, start) is not None
            run = text[start:end]
            if end < size and text[end].isalnum():
                # The last group is glued to letters ("45EUR"): it is not part of the number.
                cut = _LAST_SEP.search(run)
                run = run[: cut.start()] if cut is not None else ""
            if ("." in run or "-" in run or "/" in run) and (date := _DATE.search(run)):
                # A date inside the run ends it: read what stands before the date, then go on.
                pos = start + date.end()
                run = run[: date.start()].rstrip(" \t\r\n-./_")
            if not run:
                list_end = -1
                continue
            end = start + len(run)
            whole = structured and lead == first and end == last
            self._run(run, source, out, introduced=introduced or whole)
            list_end = end if introduced or whole else -1

    def _opening(
        self, text: str, start: int, source: Source, out: list[Reading]
    ) -> tuple[int, int, bool] | int | None:
        """How the run at `start` begins: (start, where its keyword begins, introduced); where
        to read on when it is no number of ours (an IBAN, a number glued to a word; an RF
        reference is read here and skipped); None for a telephone number, skipped whole."""
        prev = text[start - 1] if start else " "
        if prev in _CONFUSABLE:
            # Letters that look like digits may begin the number ("S126...", "OO18").
            back = start
            while back > 0 and start - back < MAX_CORRECTIONS and text[back - 1] in _CONFUSABLE:
                back -= 1
            if back == 0 or not text[back - 1].isalnum():
                start = back
                prev = text[start - 1] if start else " "
        if prev == "+":
            return None  # an international telephone number
        before = _BEFORE_REVERSED.match(text[max(0, start - _LOOK_BACK) : start][::-1])
        if before is not None and before.group("kw") is not None:
            return start, start - before.end(), True  # "KZ 5126...", "KZ5126..."
        if not prev.isalnum():
            if before is not None:  # "Tel. 02421 ..."
                return None
            return start, start, False
        if text.startswith("RF", start - 2) and not _glued(text, start - 2):
            return self._rf(text, start - 2, source, out)
        if start >= 2 and text[start - 2 : start].isupper() and not _glued(text, start - 2):
            iban = _IBAN.match(text, start - 2)
            if iban is not None and _iban_valid(iban.group().replace(" ", "")):
                return iban.end()
        return _token_end(text, start)  # glued to letters: "Rg12345", "A4", "DE00..."

    def _rf(self, text: str, at: int, source: Source, out: list[Reading]) -> int:
        """An RF reference at `at`: its body is the Kassenzeichen (notices derive it so)."""
        match = _RF.match(text, at)
        if match is None:
            return at + 4
        written = match.group()
        # The longest prefix that is a valid reference: text may follow it in the same run.
        parts = written.split(" ")
        for count in range(len(parts), 0, -1):
            candidate = "".join(parts[:count])
            if len(candidate) >= 5 and iso11649.is_valid(candidate):
                body = candidate[4:]
                result = self.canonical(body, may_fill=True) if body.isdigit() else None
                if result is not None:
                    kz, how, _ = result
                    out.append(
                        Reading(
                            kz,
                            source,
                            How.EXACT if how is How.EXACT else How.NORMALISED,
                            " ".join(parts[:count]),
                            introduced=True,
                            rf=True,
                        )
                    )
                return at + len(" ".join(parts[:count]))
        return at + 4  # not a valid reference: read its digits as plain text

    def _run(self, run: str, source: Source, out: list[Reading], *, introduced: bool) -> None:
        if run.isdigit():  # the common case: one group as written
            result = self.canonical(run, may_fill=introduced)
            if result is not None:
                out.append(Reading(result[0], source, result[1], run, introduced))
            return
        spans = [(g.start(), g.end()) for g in _GROUP.finditer(run)]
        groups = [run[a:b] for a, b in spans]
        length, limit, last = self.length, self.length + MAX_EXTRA_ZEROS, len(groups) - 1
        corrected: list[Reading] = []
        for i in range(len(groups)):
            size = 0
            for j in range(i, len(groups)):
                size += spans[j][1] - spans[j][0]
                if size > limit:
                    break
                # Zeros are filled in only for the whole run: "KZ 18", not the "18" of "KZ 18 5".
                fill = introduced and i == 0 and j == last
                if size < length and not fill:
                    continue
                result = self.canonical("".join(groups[i : j + 1]), may_fill=fill)
                if result is None:
                    continue
                kz, how, corrections = result
                if how is How.EXACT and j > i:
                    how = How.NORMALISED
                reading = Reading(
                    kz, source, how, run[spans[i][0] : spans[j][1]], introduced, corrections
                )
                (corrected if how is How.CORRECTED else out).append(reading)
        if len({r.kassenzeichen for r in corrected}) == 1:
            out.append(corrected[0])


def _glued(text: str, at: int) -> bool:
    return at > 0 and text[at - 1].isalnum()


def _token_end(text: str, start: int) -> int:
    match = _TOKEN.match(text, start)
    return match.end() if match is not None else start + 1


@lru_cache(maxsize=64)
def _reader(scheme: Scheme, years: frozenset[str] | None) -> _Reader:
    return _Reader(scheme, years)


_RANK = {How.EXACT: 0, How.NORMALISED: 1, How.CORRECTED: 2}
_FIELDS = (
    (Source.REMITTANCE, "remittance_text", False),
    (Source.STRUCTURED, "structured_reference", True),
    (Source.END_TO_END, "end_to_end_id", True),
    (Source.CUSTOMER, "customer_reference", True),
)


def read(
    text: str,
    scheme: Scheme,
    *,
    source: Source = Source.REMITTANCE,
    structured: bool = False,
    years: Collection[str] | None = None,
) -> tuple[Reading, ...]:
    """Every valid Kassenzeichen in one text, in the order they stand, each once."""
    reader = _reader(scheme, None if years is None else frozenset(years))
    return _best(reader, reader.read(text, source, structured=structured))


def readings(
    line: StatementLine, scheme: Scheme, *, years: Collection[str] | None = None
) -> tuple[Reading, ...]:
    """Every valid Kassenzeichen of the line: remittance text, structured reference (RF
    references decoded), end-to-end id and customer reference, each Kassenzeichen once with its
    best reading (introduced before bare, as written before normalised before corrected).

    `years`: the year parts (as in the Kassenzeichen, e.g. "25", "26") worth reading; None reads
    every year."""
    return _readings(line, _reader(scheme, None if years is None else frozenset(years)))


def _readings(line: StatementLine, reader: _Reader) -> tuple[Reading, ...]:
    found: list[Reading] = []
    for source, name, structured in _FIELDS:
        text = getattr(line, name)
        if text and text != _NOTPROVIDED:
            found += reader.read(text, source, structured=structured)
    return _best(reader, found)


def _best(reader: _Reader, found: list[Reading]) -> tuple[Reading, ...]:
    if not found:
        return ()
    if len(found) == 1:
        twins = reader.twins(found[0].kassenzeichen)
        return (found[0]._replace(twins=twins) if twins else found[0],)
    best: dict[str, Reading] = {}
    for reading in found:
        kept = best.get(reading.kassenzeichen)
        if kept is None or (not reading.introduced, _RANK[reading.how]) < (
            not kept.introduced,
            _RANK[kept.how],
        ):
            best[reading.kassenzeichen] = reading
    out = []
    for reading in best.values():  # dicts keep the order of first appearance
        twins = reader.twins(reading.kassenzeichen)
        out.append(reading._replace(twins=twins) if twins else reading)
    return tuple(out)


def batch_readings(
    lines: Iterable[StatementLine], scheme: Scheme, *, years: Collection[str] | None = None
) -> list[tuple[Reading, ...]]:
    """`readings` of many lines, with the scheme's rules looked up once."""
    reader = _reader(scheme, None if years is None else frozenset(years))
    return [_readings(line, reader) for line in lines]


def candidates(
    line: StatementLine, scheme: Scheme, *, years: Collection[str] | None = None
) -> tuple[str, ...]:
    """The canonical Kassenzeichen the line carries, in the order they stand."""
    return tuple(r.kassenzeichen for r in readings(line, scheme, years=years))


def lookup_keys(found: Iterable[Reading]) -> set[str]:
    """What to look up for these readings: each Kassenzeichen and its twins."""
    keys: set[str] = set()
    for reading in found:
        keys.add(reading.kassenzeichen)
        keys.update(reading.twins)
    return keys


# --- provider payouts -------------------------------------------------------------------------

#: How a provider's payout reference stands in the text; the sandbox writes "PAYOUT-<id>".
PAYOUT_PATTERN = re.compile(r"(?<![A-Za-z0-9])PAYOUT-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_PAYOUT_FIELDS = (
    "remittance_text",
    "structured_reference",
    "end_to_end_id",
    "customer_reference",
    "additional_info",
)


def payout_references(
    line: StatementLine, pattern: re.Pattern[str] = PAYOUT_PATTERN
) -> tuple[str, ...]:
    """Every payout reference in the line (group "ref" of `pattern` if it has one, else the
    whole match), each once, in the order they stand."""
    refs: dict[str, None] = {}
    use_group = "ref" in pattern.groupindex
    for name in _PAYOUT_FIELDS:
        text = getattr(line, name)
        if text:
            for match in pattern.finditer(text):
                refs[match.group("ref") if use_group else match.group()] = None
    return tuple(refs)
