"""manage.py issue_notices and send_reminders: what they do and what they say."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from rathauskasse.core import clock
from rathauskasse.organisations.models import BudgetLine, Department, Organisation
from rathauskasse.receivables import reminders
from rathauskasse.receivables import services as receivable_services
from rathauskasse.receivables.models import DeliveryChannel, Notice, NoticeKind
from tests import factories, pdfs

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_named_kassenzeichen_go_into_the_print_file(
    tmp_path: Path, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    letter = factories.receivable(
        org, department, budget_line, debtor=receivable_services.Debtor(name="Max Muster")
    )
    mailed = factories.receivable(org, department, budget_line)
    target = tmp_path / "druck.pdf"

    said = run(
        "issue_notices",
        "--kassenzeichen",
        letter.kassenzeichen_display.replace("-", " "),
        mailed.kassenzeichen,
        "--output",
        str(target),
    )

    assert "1 Brief(e) auf 1 Seite(n)" in said
    assert "1 Bescheid(e) gehen per E-Mail hinaus." in said
    assert "2 Bescheid(e) erstellt, 0 übersprungen." in said
    text = pdfs.text(target.read_bytes())
    assert letter.kassenzeichen_display in text
    assert mailed.kassenzeichen_display not in text
    assert not list(tmp_path.glob("*.part"))


def test_all_open_as_letters_skips_nothing_paid(
    tmp_path: Path, org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    factories.receivable(org, department, budget_line)
    factories.receivable(org, department, budget_line)
    cancelled = factories.receivable(org, department, budget_line)
    receivable_services.cancel_receivable(
        actor=factories.ACTOR, receivable=cancelled, reason="Irrtum"
    )
    target = tmp_path / "alle.pdf"
    said = run(
        "issue_notices",
        "--all-open",
        "--organisation",
        org.slug,
        "--print-all",
        "--output",
        str(target),
    )
    assert "2 Brief(e) auf 2 Seite(n)" in said
    assert set(Notice.objects.values_list("channel", flat=True)) == {DeliveryChannel.PRINT}


def test_a_wrong_kassenzeichen_is_said_and_nothing_is_written(
    tmp_path: Path, org: Organisation
) -> None:
    target = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match=r"Prüfziffer|gibt es keine"):
        run("issue_notices", "--kassenzeichen", "26-000001-9", "--output", str(target))
    assert not target.exists()
    assert not list(tmp_path.iterdir())


def test_send_reminders_runs_today_once(
    org: Organisation, department: Department, budget_line: BudgetLine
) -> None:
    reminders.create_policy(actor=factories.ACTOR, organisation=org, days_overdue=3)
    factories.receivable(
        org, department, budget_line, due_date=clock.today() - dt.timedelta(days=4)
    )
    assert "1 Zahlungserinnerung(en)" in run("send_reminders")
    assert "schon verschickt" in run("send_reminders")
    assert Notice.objects.filter(kind=NoticeKind.REMINDER).count() == 1
