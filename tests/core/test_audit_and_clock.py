from __future__ import annotations

import datetime as dt

import pytest

from rathauskasse.core import audit, clock
from rathauskasse.core.models import AppendOnlyError, AuditEntry, User


def test_clock_freezes_and_gives_the_berlin_business_date() -> None:
    # 23:30 UTC on 31 December is already New Year in Berlin.
    with clock.frozen(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)):
        assert clock.now() == dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
        assert clock.today() == dt.date(2027, 1, 1)
    with clock.frozen(dt.datetime(2026, 6, 1, 12, 0)):  # noqa: DTZ001 - naive means Berlin
        assert clock.now() == dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
    assert abs((clock.now() - dt.datetime.now(dt.UTC)).total_seconds()) < 5


@pytest.mark.django_db
def test_audit_records_who_what_when_and_before_after() -> None:
    user = User.objects.create_user("kasse", password="x")
    with clock.frozen(dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)):
        audit.record(
            actor=audit.Actor.user(user),
            action="receivable.cancelled",
            obj=user,
            organisation_id=7,
            before={"status": "open"},
            after={"status": "cancelled"},
        )
    entry = AuditEntry.objects.get()
    assert entry.actor_id == user.pk
    assert entry.actor_label == "kasse"
    assert entry.action == "receivable.cancelled"
    assert (entry.object_type, entry.object_id) == ("core.user", str(user.pk))
    assert entry.created_at == dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert entry.before == {"status": "open"}
    assert entry.after == {"status": "cancelled"}
    assert entry.organisation_id == 7


@pytest.mark.django_db
def test_audit_entries_cannot_be_changed_or_deleted() -> None:
    audit.record(actor=audit.SYSTEM, action="x", object_type="t", object_id=1)
    entry = AuditEntry.objects.get()
    entry.action = "y"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.update(action="z")
    assert AuditEntry.objects.get().action == "x"
