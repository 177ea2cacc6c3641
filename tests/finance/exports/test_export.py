"""Exports: each line once per profile, batches that never change, corrections as new batches."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.conf import settings

from rathauskasse.core import clock
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.core.models import AuditEntry
from rathauskasse.finance import exports, presets, services
from rathauskasse.finance.models import (
    ExportBatch,
    ExportedLine,
    ExportProfile,
    ExportProfileVersion,
    ExportTrigger,
)
from rathauskasse.ledger import selectors as ledger_selectors
from tests.finance.exports.conftest import ACTOR, DAY, Books, preset_profile, returned

pytestmark = pytest.mark.django_db
LATER = DAY + dt.timedelta(days=2)


def _export(profile: ExportProfile, until: dt.date | None = None) -> services.ExportResult:
    with clock.frozen(LATER):
        return services.export_bookings(
            profile=profile, actor=ACTOR, trigger=ExportTrigger.ADMIN, until=until
        )


def _text(batch: ExportBatch, encoding: str = "utf-8") -> list[str]:
    with services.open_batch_file(batch=batch) as stored:
        return stored.read().decode(encoding).splitlines()


def test_every_movement_goes_out_once_and_the_batch_keeps_its_file(books: Books) -> None:
    profile = preset_profile(books.org, "generic-csv")
    result = _export(profile)
    batch = result.batch
    assert batch is not None
    assert result.records == batch.record_count == 10
    lines = _text(batch)
    assert len(lines) == 11  # header and ten records
    kinds = [line.split(";")[2] for line in lines[1:]]
    assert kinds.count("receivable_created") == 4
    assert kinds.count("payment") == 3
    assert {"refund", "reversal", "receivable_cancelled"} <= set(kinds)
    # the sums of the batch are the movement of the receivables account
    movement = ledger_selectors.receivable_movement_cents(organisation_id=books.org.pk)
    assert batch.net_cents == movement == 3070 + 1750 + 999 - 3070 - 1750 + 1000 + 1750 - 999
    assert batch.debit_cents + batch.credit_cents == batch.net_cents
    assert batch.period_from == dt.date(2026, 11, 30)
    assert batch.period_until == dt.date(2026, 12, 1)
    assert batch.counts_by_kind["payment"] == 3
    assert batch.version.number == 1
    assert batch.filename == "buchungen-1-20261202.csv"
    assert ExportedLine.objects.filter(batch_id=batch.pk).count() == 10
    # downloaded again: the same bytes, with the stored checksum
    with (
        services.open_batch_file(batch=batch) as first,
        services.open_batch_file(batch=batch) as second,
    ):
        data = first.read()
        assert data == second.read()
    assert hashlib.sha256(data).hexdigest() == batch.sha256
    assert len(data) == batch.size_bytes
    assert AuditEntry.objects.filter(action="export_batch.created").count() == 1

    again = _export(profile)
    assert again.batch is None
    assert again.records == 0
    assert again.empty_file == lines[0].encode() + b"\r\n"
    assert ExportBatch.objects.count() == 1


def test_a_payment_profile_leaves_receivables_out_and_each_profile_counts_alone(
    books: Books,
) -> None:
    infoma = preset_profile(books.org, "infoma-zahlungseingaenge")
    generic = preset_profile(books.org, "generic-csv")
    batch = _export(infoma).batch
    assert batch is not None
    assert batch.record_count == 5  # three payments, a refund, a returned debit
    lines = _text(batch, "cp1252")
    assert lines[1].split(";")[:5] == ["260000013", "30,70", "30.11.2026", "30.11.2026", "card"]
    assert any(";sepa_debit;" in line and line.split(";")[1] == "-17,50" for line in lines)
    # the generic profile still gets every line: "exported" is per profile
    other = _export(generic).batch
    assert other is not None
    assert other.record_count == 10


def test_until_leaves_later_bookings_for_the_next_batch(books: Books) -> None:
    profile = preset_profile(books.org, "jsonl")
    first = _export(profile, until=dt.date(2026, 11, 30)).batch
    assert first is not None
    assert first.record_count == 9
    second = _export(profile).batch
    assert second is not None
    assert second.number == 2
    assert second.record_count == 1
    assert '"kind":"payment"' in _text(second)[0]
    assert '"payment_method":"paypal"' in _text(second)[0]


def test_a_correction_is_a_new_batch_with_the_reversal(books: Books) -> None:
    profile = preset_profile(books.org, "infoma-zahlungseingaenge")
    first = _export(profile).batch
    assert first is not None
    before = _text(first, "cp1252")
    with clock.frozen(LATER):
        returned(books.payments[2])  # the PayPal payment comes back
    correction = _export(profile).batch
    assert correction is not None
    assert correction.record_count == 1
    record = _text(correction, "cp1252")[1].split(";")
    assert record[:3] == ["260000039", "-9,99", "02.12.2026"]
    assert correction.counts_by_kind == {"reversal": 1}
    assert _text(first, "cp1252") == before  # the first file is as it was


def test_a_change_of_the_profile_is_a_new_version_and_alters_no_batch(books: Books) -> None:
    profile = preset_profile(books.org, "generic-csv")
    first = _export(profile, until=dt.date(2026, 11, 30)).batch
    assert first is not None
    before = _text(first)
    profile.decimal_separator = "."
    profile.delimiter = ","
    services.save_export_profile(actor=ACTOR, profile=profile)
    assert profile.version == 2
    # saving unchanged settings makes no version
    services.save_export_profile(actor=ACTOR, profile=profile)
    assert ExportProfileVersion.objects.filter(profile=profile).count() == 2
    second = _export(profile).batch
    assert second is not None
    assert second.version.number == 2
    assert ",-9.99," in _text(second)[1]
    first.refresh_from_db()
    assert first.version.number == 1
    assert first.version.settings["delimiter"] == ";"
    assert _text(first) == before


def test_an_export_that_fails_midway_leaves_nothing(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = preset_profile(books.org, "generic-csv")
    calls = 0
    real = exports.Writer.chunk

    def failing(self: exports.Writer, rows: object) -> bytes:
        nonlocal calls
        calls += 1
        real(self, rows)  # type: ignore[arg-type]
        raise OSError("disk full")

    monkeypatch.setattr(exports.Writer, "chunk", failing)
    with pytest.raises(OSError, match="disk full"):
        _export(profile)
    assert calls == 1
    assert not ExportBatch.objects.exists()
    assert not ExportedLine.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    monkeypatch.undo()
    assert _export(profile).records == 10


def test_a_failure_after_the_file_is_stored_removes_it(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = preset_profile(books.org, "generic-csv")

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(ExportBatch, "save", refuse)
    with pytest.raises(RuntimeError, match="database gone"):
        _export(profile)
    assert not ExportedLine.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not any(p.is_file() for p in media.rglob("*"))


def test_the_preview_marks_nothing(books: Books) -> None:
    profile = preset_profile(books.org, "infoma-zahlungseingaenge")
    with clock.frozen(LATER):
        lines = services.preview_export(profile=profile, limit=2)
    assert lines[0].startswith("Kassenzeichen;Betrag")
    assert len(lines) == 3
    assert not ExportedLine.objects.exists()
    # an unsaved profile previews too, with its own settings
    draft = ExportProfile(organisation=books.org, **{**profile.settings(), "name": "entwurf"})
    draft.sign = "debit_positive"
    with clock.frozen(LATER):
        assert services.preview_export(profile=draft, limit=1)[1].startswith("260000013;-30,70;")


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda c: [x for x in c if x["source"] != "amount"], "columns", "Betrag"),
        (lambda c: [x for x in c if x["source"] != "kassenzeichen"], "columns", "Kassenzeichen"),
        (lambda c: [*c, {"source": "magic"}], "columns", "unbekannte Quelle"),
        (lambda c: [*c, {"source": "purpose", "header": ""}], "columns", "braucht einen Namen"),
    ],
)
def test_a_profile_that_would_lose_data_is_refused(
    books: Books, change: object, field: str, reason: str
) -> None:
    fields = presets.fields("generic-csv")
    fields["columns"] = change(fields["columns"])  # type: ignore[operator]
    with pytest.raises(ValidationFailed) as refused:
        services.create_export_profile(actor=ACTOR, organisation=books.org, **fields)
    assert reason in refused.value.errors[field]
    assert not ExportProfile.objects.exists()


def test_fixed_widths_that_cannot_hold_a_value_are_refused(books: Books) -> None:
    fields = presets.fields("sap-flat")
    for column in fields["columns"]:
        if column["source"] == "amount":
            column["width"] = 9
        if column["source"] == "booking_text":
            column.pop("max_length")
    with pytest.raises(ValidationFailed) as refused:
        services.create_export_profile(actor=ACTOR, organisation=books.org, **fields)
    message = refused.value.errors["columns"]
    assert "Beträge bis 99.999.999.999 Euro braucht 14 Zeichen, die Spalte ist 9 breit" in message
    assert "der längste Wert braucht 200 Zeichen, die Spalte ist 50 breit" in message

    fields = presets.fields("sap-flat")
    fields["columns"] = [c for c in fields["columns"] if c["source"] != "debit_credit"]
    with pytest.raises(ValidationFailed) as refused:
        services.create_export_profile(actor=ACTOR, organisation=books.org, **fields)
    assert "Soll/Haben-Kennzeichen" in refused.value.errors["sign"]

    fields = presets.fields("generic-csv")
    fields["filename_pattern"] = "../{profil}.csv"
    with pytest.raises(ValidationFailed) as refused:
        services.create_export_profile(actor=ACTOR, organisation=books.org, **fields)
    assert "Unbekannte Platzhalter: profil" in refused.value.errors["filename_pattern"]


def test_a_stored_file_that_changed_is_not_handed_out(books: Books) -> None:
    profile = preset_profile(books.org, "generic-csv")
    batch = _export(profile).batch
    assert batch is not None
    Path(batch.file.path).write_bytes(b"forged")
    with pytest.raises(services.ExportFileChanged):
        services.open_batch_file(batch=batch)
