"""Benchmark: server time and transferred bytes of each page of the citizen portal.

Every page is requested in-process through Django's test client (the whole middleware stack,
DEBUG off, the manifest static storage), warmed up, then timed over --requests requests; the
figures are p50 and p95 of the wall time of one request. The transferred size is what a browser
fetches for the page: the HTML plus every stylesheet, font and image it references, recursively
through CSS url(...) and @import, each counted once. Text (HTML, CSS, SVG, JS) is counted
gzip-compressed: static files as the .gz file whitenoise's collectstatic wrote and serves, the
HTML compressed at level 6 (what a gzipping proxy or Django's GZipMiddleware sends); fonts
(woff2), images (png) and the receipt PDF raw.

    .venv/bin/python bench/portal_pages.py                 # a fresh temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rk_bench_portal \
        .venv/bin/python bench/portal_pages.py [--requests 200] [--warmup 5]

On a database named by DATABASE_URL the schema is migrated and the demo city loaded; a database
that holds anything else (another organisation, Musterstadt not loaded by this benchmark, tables
of another application) is refused and left untouched. Static files are collected into a
temporary directory. Prints a table, the machine, and as the last line one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from _setup import ROOT, machine, percentile

MARKER = "bench.portal_pages"  # the audit entry that says this benchmark prepared the database
ORGANISATION = "musterstadt"
SERVICE = "anwohnerparkausweis"
# Organisations the sibling benchmark confirm_payments.py creates in the same database.
SIBLING_PREFIX = "bench-"
TEXT_TYPES = {".css", ".svg", ".html", ".htm", ".js", ".mjs", ".json", ".txt", ".xml", ".map"}
HTML_GZIP_LEVEL = 6


class Refused(SystemExit):
    pass


# --- set-up -------------------------------------------------------------------------------------


def _configure(tmp: Path) -> bool:
    """Environment for the settings module; True when the database is a fresh temporary file."""
    fresh = not os.environ.get("DATABASE_URL")
    if fresh:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'portal_pages.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "rathauskasse.config.settings"
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    os.environ["STATIC_ROOT"] = str(tmp / "static")
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["PORTAL_ORGANISATION"] = ORGANISATION
    os.environ["PORTAL_LOOKUP_LIMIT"] = "1000000000"
    os.environ["EMAIL_URL"] = "dummymail://"
    # 4xx answers (the 422 form) would log a warning per request.
    os.environ["LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT / "src"))
    return fresh


def _check_database() -> None:
    """Refuse a database that holds anything this benchmark (or its sibling) did not put there."""
    from django.apps import apps
    from django.db import connection

    from rathauskasse.core.models import AuditEntry
    from rathauskasse.organisations.models import Organisation

    where = f"{connection.vendor} database {connection.settings_dict['NAME']!r}"
    tables = set(connection.introspection.table_names())
    if not tables:
        return
    ours = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    ours.add("django_migrations")
    foreign = sorted(tables - ours)
    if foreign:
        raise Refused(
            f"REFUSED: the {where} holds tables that are not this project's "
            f"({', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''}). "
            "Point DATABASE_URL to an empty database."
        )
    org_table = Organisation._meta.db_table
    if org_table not in tables:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT slug FROM {connection.ops.quote_name(org_table)}")  # noqa: S608
        slugs = {row[0] for row in cursor.fetchall()}
        marked = False
        audit_table = AuditEntry._meta.db_table
        if audit_table in tables:
            cursor.execute(
                f"SELECT 1 FROM {connection.ops.quote_name(audit_table)} WHERE action = %s",  # noqa: S608
                [MARKER],
            )
            marked = cursor.fetchone() is not None
    others = sorted(s for s in slugs if s != ORGANISATION and not s.startswith(SIBLING_PREFIX))
    if others:
        raise Refused(
            f"REFUSED: the {where} already holds other data (organisations "
            f"{', '.join(others[:5])}). Point DATABASE_URL to an empty database."
        )
    if ORGANISATION in slugs and not marked:
        raise Refused(
            f"REFUSED: the {where} holds a '{ORGANISATION}' that this benchmark did not load "
            "(a developer's or a demo database?). Point DATABASE_URL to an empty database."
        )


def setup(tmp: Path) -> bool:
    fresh = _configure(tmp)
    import django
    from django.core.management import call_command

    django.setup()
    if not fresh:
        _check_database()
    call_command("migrate", verbosity=0)
    _load_demo()
    call_command("collectstatic", interactive=False, verbosity=0)
    # Every 4xx answer (the 422 form) would be logged; server errors are reported by measure().
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    return fresh


def _load_demo() -> None:
    from django.db import transaction

    from rathauskasse.core import audit, clock
    from rathauskasse.core.models import AuditEntry
    from rathauskasse.demo import loader

    with transaction.atomic():
        loaded = loader.load(today=clock.today())
        if not AuditEntry.objects.filter(action=MARKER).exists():
            AuditEntry.objects.create(
                created_at=clock.now(),
                organisation_id=loaded.organisation.pk,
                actor_label=audit.Actor(label="bench").label,
                action=MARKER,
                object_type="bench",
                object_id="portal_pages",
            )


def _succeeded_payment() -> uuid.UUID:
    """A notice of its own, paid through the services as the portal does it; its public id."""
    from django.conf import settings
    from django.urls import reverse

    from rathauskasse.core import audit
    from rathauskasse.organisations.models import BudgetLine, Department, Organisation
    from rathauskasse.payments import services as payments
    from rathauskasse.payments.models import EventSource, PaymentStatus
    from rathauskasse.receivables.models import ReceivableSource
    from rathauskasse.receivables.services import Debtor, LineInput, create_receivable

    actor = audit.Actor(label="bench")
    org = Organisation.objects.get(slug=ORGANISATION)
    department = Department.objects.filter(organisation=org).order_by("pk").first()
    line = BudgetLine.objects.filter(organisation=org, is_active=True).order_by("pk").first()
    assert department is not None
    assert line is not None
    receivable = create_receivable(
        actor=actor,
        organisation=org,
        department=department,
        lines=[LineInput(text="Verwarnungsgeld", amount_cents=3500, budget_line=line)],
        purpose="Verwarnungsgeld (Benchmark)",
        debtor=Debtor(name="Erika Mustermann"),
        source=ReceivableSource.NOTICE,
    )
    public_id = uuid.uuid4()
    payment = payments.create_payment(
        actor=actor,
        organisation=org,
        allocations=[payments.AllocationInput(receivable)],
        provider="sandbox",
        method="card",
        return_url=settings.SITE_URL + reverse("portal:payment", args=[public_id]),
        payer_email="erika@example.org",
        public_id=public_id,
    )
    payments.start_payment(payment=payment, actor=actor)
    payment = payments.confirm_payment(
        payment=payment, source=EventSource.NOTIFICATION, actor=audit.Actor(label="bench")
    )
    assert payment.status == PaymentStatus.SUCCEEDED, payment.status
    return public_id


def _open_kassenzeichen(n: int) -> list[str]:
    from rathauskasse.organisations.models import Organisation
    from rathauskasse.receivables import selectors

    org = Organisation.objects.get(slug=ORGANISATION)
    found = selectors.open_receivables(organisation=org).order_by("id")[:n]
    numbers = [r.kassenzeichen_display for r in found]
    assert len(numbers) == n, f"only {len(numbers)} open notices"
    return numbers


# --- the pages ----------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    #: Takes the page's own client, does what the page needs first; returns the request to time.
    prepare: Callable[[Any], Callable[[], Any]]
    expect: int = 200


def _get(path: str) -> Callable[[Any], Callable[[], Any]]:
    return lambda client: lambda: client.get(path)


def _form_errors(client: Any) -> Callable[[], Any]:
    path = f"/leistungen/{SERVICE}/antrag/"
    return lambda: client.post(path, {})


def _review(client: Any) -> Callable[[], Any]:
    response = client.post(
        f"/leistungen/{SERVICE}/antrag/",
        {
            "applicant_name": "Erika Mustermann",
            "applicant_email": "erika@example.org",
            "address": "Heidestraße 17\n52349 Musterstadt",
            "plate": "MS-AB 123",
            "zone": "A",
        },
    )
    assert response.status_code == 302, f"valid form answered {response.status_code}"
    url = response["Location"]
    return lambda: client.get(url)


def _basket(numbers: list[str]) -> Callable[[Any], Callable[[], Any]]:
    def prepare(client: Any) -> Callable[[], Any]:
        for number in numbers:
            response = client.post("/bezahlen/", {"kassenzeichen": number})
            assert response.status_code == 302, f"{number}: {response.status_code}"
        return lambda: client.get("/bezahlen/")

    return prepare


def pages(payment_id: uuid.UUID, numbers: list[str]) -> list[Page]:
    return [
        Page("home", _get("/")),
        Page("catalogue", _get("/leistungen/")),
        Page("catalogue_search", _get("/leistungen/?q=park")),
        Page("service", _get(f"/leistungen/{SERVICE}/")),
        Page("apply_form", _get(f"/leistungen/{SERVICE}/antrag/")),
        Page("apply_form_errors", _form_errors, expect=422),
        Page("apply_review", _review),
        Page("pay_empty", _get("/bezahlen/")),
        Page("pay_basket_2", _basket(numbers)),
        Page("payment_succeeded", _get(f"/zahlung/{payment_id}/")),
        Page("receipt_pdf", _get(f"/zahlung/{payment_id}/quittung.pdf")),
        Page("login", _get("/konto/login/")),
        Page("impressum", _get("/impressum/")),
    ]


# --- transferred bytes --------------------------------------------------------------------------


class _References(HTMLParser):
    """What a browser fetches for a page: stylesheets, icons, images, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        rel = set(a.get("rel", "").lower().split())
        if tag == "link" and rel & {"stylesheet", "icon", "preload", "apple-touch-icon"}:
            self.urls.append(a.get("href", ""))
        elif (tag in ("img", "script", "source") and a.get("src")) or (
            tag == "input" and a.get("type", "").lower() == "image" and a.get("src")
        ):
            self.urls.append(a["src"])
        if a.get("srcset"):
            self.urls += [part.split()[0] for part in a["srcset"].split(",") if part.strip()]
        if a.get("style"):
            self.inline_styles.append(a["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.inline_styles.append(data)


_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""")


def _css_references(text: str) -> list[str]:
    found = [next(g for g in m.groups() if g is not None) for m in _CSS_URL.finditer(text)]
    found += [next(g for g in m.groups() if g is not None) for m in _CSS_IMPORT.finditer(text)]
    return found


@dataclass
class Asset:
    url: str
    raw: int
    sent: int
    brotli: int | None = None


@dataclass
class Assets:
    """Sizes of the static and media files, read from disk once each."""

    static_url: str
    static_root: Path
    media_url: str
    media_root: Path
    cache: dict[str, tuple[Asset, list[str]]] = field(default_factory=dict)

    def _file(self, path: str) -> Path:
        for prefix, root in (
            (self.static_url, self.static_root),
            (self.media_url, self.media_root),
        ):
            if path.startswith(prefix):
                relative = posixpath.normpath(unquote(path[len(prefix) :]))
                target = (root / relative).resolve()
                if root.resolve() in target.parents and target.is_file():
                    return target
        raise FileNotFoundError(f"no file on disk serves {path}")

    def get(self, url: str) -> tuple[Asset, list[str]]:
        """The asset and the absolute URLs it references in turn."""
        if url in self.cache:
            return self.cache[url]
        path = urlsplit(url).path
        target = self._file(path)
        data = target.read_bytes()
        sent = len(data)
        brotli = None
        children: list[str] = []
        if target.suffix.lower() in TEXT_TYPES:
            gz = target.with_name(target.name + ".gz")
            # What whitenoise serves: its .gz when collectstatic found compressing worth it.
            sent = min(sent, gz.stat().st_size if gz.is_file() else len(_gzip(data, 9)))
            br = target.with_name(target.name + ".br")
            brotli = min(len(data), br.stat().st_size) if br.is_file() else None
        if target.suffix.lower() == ".css":
            children = [
                urljoin(url, ref)
                for ref in _css_references(data.decode("utf-8", "replace"))
                if not ref.startswith(("data:", "#")) and ref
            ]
        self.cache[url] = (Asset(url, len(data), sent, brotli), children)
        return self.cache[url]

    def page(self, page_url: str, html: str) -> list[Asset]:
        parser = _References()
        parser.feed(html)
        queue = [urljoin(page_url, u) for u in parser.urls if u and not u.startswith("data:")]
        for style in parser.inline_styles:
            queue += [urljoin(page_url, u) for u in _css_references(style) if u[:5] != "data:"]
        seen: dict[str, Asset] = {}
        while queue:
            url = urlsplit(queue.pop(0))._replace(fragment="").geturl()
            if url in seen:
                continue
            asset, children = self.get(url)
            seen[url] = asset
            queue += children
        return list(seen.values())


def _gzip(data: bytes, level: int) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    path: str = ""
    status: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    html_bytes: int = 0
    kb: float = 0.0
    kb_brotli: float = 0.0
    queries: int = 0
    assets: list[Asset] = field(default_factory=list)
    error: str = ""


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def measure(page: Page, assets: Assets, requests: int, warmup: int) -> Result:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    result = Result(page.name)
    client = Client(HTTP_ACCEPT_ENCODING="gzip, deflate, br", HTTP_ACCEPT_LANGUAGE="de")
    try:
        request = page.prepare(client)
        for _ in range(warmup):
            response = request()
    except Exception as exc:  # a server error: report it, measure the other pages
        result.status = 500
        result.error = "".join(traceback.format_exception_only(exc)).strip()[:300]
        print(f"!! {page.name}: server error", file=sys.stderr)
        traceback.print_exception(exc, limit=-6, chain=False)
        return result
    result.status = response.status_code
    result.path = response.request["PATH_INFO"]
    if response.request.get("QUERY_STRING"):
        result.path += "?" + response.request["QUERY_STRING"]
    body = _body(response)
    result.html_bytes = len(body)
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/html"):
        html_sent = len(_gzip(body, HTML_GZIP_LEVEL))
        result.assets = assets.page("http://testserver" + result.path, body.decode())
    else:
        html_sent = len(body)  # the PDF: already compressed, sent as it is
    result.kb = round((html_sent + sum(a.sent for a in result.assets)) / 1024, 1)
    result.kb_brotli = round((html_sent + sum(a.brotli or a.sent for a in result.assets)) / 1024, 1)

    latencies = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = request()
        latencies.append(time.perf_counter() - t0)
        if response.status_code != result.status:
            result.error = f"status changed to {response.status_code} during the run"
    result.p50_ms = round(percentile(latencies, 0.5) * 1000, 2)
    result.p95_ms = round(percentile(latencies, 0.95) * 1000, 2)
    with CaptureQueriesContext(connection) as captured:
        request()
    result.queries = len(captured.captured_queries)
    if result.status != page.expect and not result.error:
        result.error = f"expected {page.expect}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rk-bench-portal-"))
    try:
        try:
            fresh = setup(tmp)
        except Refused as exc:
            print(exc, file=sys.stderr)
            sys.exit(2)
        run(args, fresh=fresh)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, *, fresh: bool) -> None:
    from importlib.metadata import version

    from django.conf import settings
    from django.db import connection

    facts = machine()
    where = "a fresh temporary SQLite file" if fresh else repr(connection.settings_dict["NAME"])
    print(f"machine: {facts}")
    print(f"database: {facts['database']}, {where}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    payment_id = _succeeded_payment()
    numbers = _open_kassenzeichen(2)
    assets = Assets(
        static_url="/" + settings.STATIC_URL.lstrip("/"),
        static_root=Path(settings.STATIC_ROOT),
        media_url="/" + settings.MEDIA_URL.lstrip("/"),
        media_root=Path(settings.MEDIA_ROOT),
    )
    results = [
        measure(page, assets, args.requests, args.warmup) for page in pages(payment_id, numbers)
    ]

    print()
    print(f"{args.requests} requests per page after {args.warmup} warm-up requests")
    header = f"{'page':<20} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7} "
    header += f"{'HTML B':>8} {'KB gzip':>8} {'KB br':>7}  path"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<20} {r.status:>6} {r.p50_ms:>8.2f} {r.p95_ms:>8.2f} {r.queries:>7} "
            f"{r.html_bytes:>8} {r.kb:>8.1f} {r.kb_brotli:>7.1f}  {r.path}"
            + (f"  !! {r.error}" if r.error else "")
        )
    print()
    print("assets (each counted once per page; gzip as whitenoise serves it):")
    for url, (asset, _children) in sorted(assets.cache.items()):
        br = f", br {asset.brotli / 1024:.1f} KB" if asset.brotli is not None else ""
        print(f"  {url:<70} raw {asset.raw / 1024:7.1f} KB, sent {asset.sent / 1024:6.1f} KB{br}")

    measured = [r for r in results if r.status and r.status < 500]
    result = {
        "bench": "portal_pages",
        "database": connection.vendor,
        "p95_ms_max": max((r.p95_ms for r in measured), default=0.0),
        "max_page_kb": max((r.kb for r in measured), default=0.0),
        "pages": {
            r.name: {
                "p50_ms": r.p50_ms,
                "p95_ms": r.p95_ms,
                "kb": r.kb,
                "status": r.status,
                "queries": r.queries,
                **({"error": r.error} if r.error else {}),
            }
            for r in results
        },
        "machine": {k: facts[k] for k in ("cpus", "machine", "system")},
        "versions": {
            "python": facts["python"],
            "django": facts["django"],
            "database": facts["database"],
            "whitenoise": version("whitenoise"),
            "django-allauth": version("django-allauth"),
            "reportlab": version("reportlab"),
        },
    }
    failed = [r.name for r in results if r.error]
    if failed:
        print(f"PROBLEMS: {', '.join(failed)}")
    print(json.dumps(result))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
