"""Exports: each line once per profile, batches that never change, corrections as new batches."""

from __future__ import annotations

import pytest

from rathauskasse.finance import services
from rathauskasse.finance.models import ExportTrigger
from tests.finance.exports.conftest import ACTOR, Books, preset_profile

pytestmark = pytest.mark.django_db


def test_generic_export_has_every_movement_once(books: Books) -> None:
    profile = preset_profile(books.org, "generic-csv")
    result = services.export_bookings(profile=profile, actor=ACTOR, trigger=ExportTrigger.ADMIN)
    assert result.batch is not None
    assert result.records == 10
