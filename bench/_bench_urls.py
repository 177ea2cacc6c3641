"""Bench-only URLconf: the production site plus the reference endpoint of api_create_payment.py.

Used only through `_bench_settings` (`DJANGO_SETTINGS_MODULE=_bench_settings`, `bench/` on the
path). `POST /bench/insert` is the reference: the same settings, middleware, gunicorn and
database as the API, but no authentication, rate limit, idempotency or schema: it reads the JSON
body and inserts one row into `bench_insert` (created by the benchmark) in one transaction.
"""

from __future__ import annotations

import json

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from rathauskasse.config.urls import urlpatterns as site_urlpatterns

TABLE = "bench_insert"


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> JsonResponse:
    payload = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (created_at, note) VALUES (%s, %s) RETURNING id",  # noqa: S608
            [timezone.now(), str(payload.get("note", ""))[:100]],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


urlpatterns = [path("bench/insert", insert), *site_urlpatterns]
