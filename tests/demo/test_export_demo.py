"""The demo city comes with the four export presets; its bookings export from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.core.management import call_command

from rathauskasse.finance import presets
from rathauskasse.finance.models import ExportProfile

pytestmark = pytest.mark.django_db


def test_the_demo_exports_its_payments_once(settings: LazySettings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("load_demo", stdout=io.StringIO())
    names = set(ExportProfile.objects.values_list("name", flat=True))
    assert names == set(presets.PRESETS)
    assert ExportProfile.objects.get(name="infoma-zahlungseingaenge").daily_at is not None
    target = tmp_path / "ze.csv"
    out = io.StringIO()
    call_command(
        "export_bookings",
        "--profile",
        "infoma-zahlungseingaenge",
        "--output",
        str(target),
        stdout=out,
    )
    count = int(out.getvalue().splitlines()[-1].split()[1])
    assert count > 0
    assert len(target.read_bytes().decode("cp1252").splitlines()) == count + 1
    out = io.StringIO()
    call_command(
        "export_bookings",
        "--profile",
        "infoma-zahlungseingaenge",
        "--output",
        str(target),
        stdout=out,
    )
    assert out.getvalue().splitlines()[-1] == f"exported 0 records to {target}"
    call_command("load_demo", stdout=io.StringIO())  # loading again keeps the profiles
    assert ExportProfile.objects.count() == len(presets.PRESETS)
