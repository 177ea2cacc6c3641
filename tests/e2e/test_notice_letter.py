"""A letter as the debtor gets it: scan the pay link from the PDF, open it, pay it.

The pay link is decoded from the rendered PDF (pdftoppm, zxing-cpp), not taken from the database,
so what is tested is what a phone camera reads off the paper.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from rathauskasse.core import clock
from rathauskasse.demo.loader import load
from rathauskasse.ledger import selectors as ledger_selectors
from rathauskasse.receivables import notices
from rathauskasse.receivables.models import Notice, NoticeKind, ReceivableStatus
from tests import pdfs
from tests.e2e.conftest import axe_violations, describe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def accessible(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_scan_the_letter_and_pay_it(page: Page, live_server: Any) -> None:
    city = load(today=clock.today()).organisation
    notice = (
        Notice.objects.filter(organisation=city, kind=NoticeKind.NOTICE)
        .select_related("receivable")
        .order_by("pk")
        .first()
    )
    assert notice is not None
    letter = notices.notice_pdf(notice)
    pay_link, girocode = pdfs.qr_codes(letter)
    url = pay_link.bytes.decode("ascii")
    assert url.endswith(f"/p/{notice.receivable.pay_token}/")
    assert girocode.bytes.decode().startswith("BCD\n002\n1\nSCT\n")
    # The letter was printed with the demo's address; the browser reaches the test server.
    path = url[url.index("/p/") :]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(live_server.url + path)

    expect(page.get_by_role("heading", level=1)).to_have_text("Bescheid bezahlen")
    expect(page.locator("main")).to_contain_text(notice.receivable.kassenzeichen_display)
    expect(page.get_by_role("img", name=re.compile("GiroCode"))).to_be_visible()
    loaded = page.evaluate(
        "() => { const i = document.querySelector('.portal-girocode__image');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert loaded, "the GiroCode image did not load"
    accessible(page)
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_label("Kredit- oder Debitkarte").check()
    page.get_by_role("button", name=re.compile("Zahlungspflichtig bezahlen")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Testzahlung")
    page.get_by_label("Zahlung gelingt").check()
    page.get_by_role("button", name="Weiter").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vielen Dank, Ihre Zahlung ist eingegangen"
    )
    accessible(page)
    notice.receivable.refresh_from_db()
    assert notice.receivable.status == ReceivableStatus.PAID
    assert ledger_selectors.check_integrity(organisation_id=city.pk).ok
    assert all(u.startswith(live_server.url) for u in requested), requested
