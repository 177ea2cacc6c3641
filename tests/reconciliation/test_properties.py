"""Whatever bytes arrive, the parsers answer with lines or a StatementError, never anything else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rathauskasse.reconciliation.lines import StatementError, StatementLine
from rathauskasse.reconciliation.parsers import CsvProfile, parse
from tests.reconciliation.camtfiles import Entry, Tx, camt
from tests.reconciliation.conftest import corpus_files

SEEDS = [path.read_bytes() for path in corpus_files(".xml", ".sta")] or [camt(Entry())]
SEEDS.append(camt(Entry(amount="30.00", txs=[Tx(amount="10.00"), Tx(amount="20.00")])))
PROFILE = CsvProfile(name="p", booking_date="Datum", amount="Betrag", text="Text")


def _parse_or_refuse(data: bytes, profile: CsvProfile | None = None) -> None:
    try:
        for line in parse(data, csv_profile=profile):
            assert isinstance(line, StatementLine)
            assert isinstance(line.amount_cents, int)
            line.as_json()
    except StatementError as exc:
        message = exc.message
        assert isinstance(message, str)
        assert message


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(
                st.sampled_from(
                    [
                        b"<",
                        b">",
                        b"&",
                        b"\x00",
                        b":61:",
                        b"?2",
                        b"\r\n",
                        b"<Ntry>",
                        b"\xff\xfe",
                        b"</Amt>",
                        b"-",
                        b",",
                        b"<!DOCTYPE",
                        b"&lol;",
                        b"\xc3",
                    ]
                )
            )
        else:
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_only_ever_give_a_statement_error(data: bytes) -> None:
    _parse_or_refuse(data)
    _parse_or_refuse(data, PROFILE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_corpus_files_only_ever_give_lines_or_a_statement_error(data: bytes) -> None:
    _parse_or_refuse(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=30), min_size=1, max_size=8
    )
)
def test_arbitrary_csv_cells_only_ever_give_a_statement_error(cells: list[str]) -> None:
    data = ("Datum;Betrag;Text\n" + ";".join(cells) + "\n").encode("utf-8")
    _parse_or_refuse(data, PROFILE)


def test_the_seeds_are_the_corpus() -> None:
    assert len(SEEDS) >= 2
    assert all(isinstance(seed, bytes) for seed in SEEDS)
    assert Path(__file__).name == "test_properties.py"
