"""API keys: making, revoking and recognising them.

Invariants kept here:
- a key's secret is never stored, only its SHA-256 digest; the full key is returned once;
- a key belongs to one organisation, may be limited to some of its departments, and carries
  scopes from `Scope`; a revoked key authenticates nothing;
- making and revoking a key leave audit entries.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable

from django.db import connection, transaction

from rathauskasse.api import keys
from rathauskasse.api.models import ApiKey, Scope
from rathauskasse.core import audit, clock, sql
from rathauskasse.core.errors import ValidationFailed
from rathauskasse.organisations.models import Department, Organisation

#: `last_used_at` is written at most this often per key, not on every request.
USE_RESOLUTION = dt.timedelta(minutes=5)


@transaction.atomic
def create_api_key(
    *,
    actor: audit.Actor,
    organisation: Organisation,
    name: str,
    mode: str,
    scopes: Iterable[str],
    departments: Iterable[Department] = (),
    token: str | None = None,
) -> tuple[ApiKey, str]:
    """Make a key; returns it with the full token, which is never available again.

    `token` adopts a key made elsewhere (the demo's fixed key); it must be well-formed.
    """
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(Scope.values)
    errors: dict[str, str] = {}
    if unknown:
        errors["scopes"] = "Unbekannte Rechte: " + ", ".join(sorted(unknown))
    if mode not in keys.MODES:
        errors["mode"] = "Die Art muss „live“ oder „test“ sein."
    if not name.strip():
        errors["name"] = "Bitte geben Sie dem Schlüssel eine Bezeichnung."
    departments = list(departments)
    if any(d.organisation_id != organisation.pk for d in departments):
        errors["departments"] = "Die Ämter müssen zur Organisation gehören."
    adopted = keys.parse(token) if token is not None else None
    if token is not None and (adopted is None or adopted.mode != mode):
        errors["token"] = f"Kein gültiger Schlüssel der Art „{mode}“."
    if errors:
        raise ValidationFailed(errors)
    new = (
        keys.NewKey(mode=adopted.mode, key_id=adopted.key_id, secret=adopted.secret)
        if adopted is not None
        else keys.generate(mode)
    )
    api_key = ApiKey.objects.create(
        organisation=organisation,
        name=name.strip(),
        mode=mode,
        key_id=new.key_id,
        secret_digest=keys.digest(new.secret),
        scopes=scopes,
        created_at=clock.now(),
    )
    api_key.departments.set(departments)
    audit.record(
        actor=actor,
        action="api_key.created",
        obj=api_key,
        organisation_id=organisation.pk,
        after={"name": api_key.name, "mode": mode, "scopes": scopes},
    )
    return api_key, new.token


@transaction.atomic
def revoke_api_key(*, actor: audit.Actor, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=api_key.revoked_at)
        audit.record(
            actor=actor,
            action="api_key.revoked",
            obj=api_key,
            organisation_id=api_key.organisation_id,
        )
    return api_key


def authenticate(token: str) -> ApiKey | None:
    """The active key behind `token`, or None; notes its use at most every few minutes.

    The key comes with its organisation and the departments it is limited to, in one statement
    built once (every API request asks this first).
    """
    presented = keys.parse(token)
    if presented is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_key_sql(connection.vendor), [presented.key_id, presented.mode])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(ApiKey._meta.concrete_fields)
    api_key: ApiKey = sql.instance(ApiKey, row[:width])
    if not keys.matches(presented.secret, api_key.secret_digest):
        return None
    organisation = sql.instance(Organisation, row[width:-1])
    ApiKey._meta.get_field("organisation").set_cached_value(api_key, organisation)
    departments = [int(pk) for pk in str(row[-1] or "").split(",") if pk]
    api_key.__dict__["limited_to_departments"] = departments or None  # the cached_property's
    now = clock.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > USE_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key


@functools.cache
def _key_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    through = ApiKey.departments.through._meta.db_table
    ids = (
        "string_agg(CAST(d.department_id AS text), ',')"
        if vendor == "postgresql"
        else "group_concat(d.department_id, ',')"
    )
    return (
        f"SELECT {sql.columns_of(ApiKey, 'k')}, {sql.columns_of(Organisation, 'o')}, "  # noqa: S608 - names are ours
        f"(SELECT {ids} FROM {quote(through)} d WHERE d.apikey_id = k.id) "
        f"FROM {quote(ApiKey._meta.db_table)} k "
        f"JOIN {quote(Organisation._meta.db_table)} o ON o.id = k.organisation_id "
        "WHERE k.key_id = %s AND k.mode = %s AND k.revoked_at IS NULL"
    )
