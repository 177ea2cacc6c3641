"""The bank statement corpus (real files from banks and parsers), found next to the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "bank-statements"


def corpus_files(*suffixes: str) -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(path for path in CORPUS.iterdir() if path.suffix in suffixes)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("the shared bank statement corpus is not there")
    return CORPUS
