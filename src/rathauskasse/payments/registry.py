"""Finds payment providers by identifier.

Providers are configured in `settings.PAYMENT_PROVIDERS` (identifier -> dotted path of a factory);
the payments domain never imports a concrete provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from rathauskasse.core.errors import DomainError
from rathauskasse.payments.contract import PaymentProvider


class UnknownProvider(DomainError):
    code = "unknown_provider"


_instances: dict[str, PaymentProvider] = {}
_overrides: dict[str, PaymentProvider] = {}


def _configured() -> dict[str, str]:
    configured: dict[str, str] = settings.PAYMENT_PROVIDERS
    return configured


def get_provider(identifier: str) -> PaymentProvider:
    if identifier in _overrides:
        return _overrides[identifier]
    if identifier not in _instances:
        path = _configured().get(identifier)
        if path is None:
            raise UnknownProvider(
                f"Den Zahlungsdienst „{identifier}“ gibt es nicht.", field="provider"
            )
        factory: Any = import_string(path)
        provider = factory()
        if not isinstance(provider, PaymentProvider):
            raise TypeError(f"{path} did not build a PaymentProvider")
        _instances[identifier] = provider
    return _instances[identifier]


@contextmanager
def override(identifier: str, provider: PaymentProvider) -> Iterator[PaymentProvider]:
    """Use `provider` under `identifier` for the block (tests, fault injection)."""
    previous = _overrides.get(identifier)
    _overrides[identifier] = provider
    try:
        yield provider
    finally:
        if previous is None:
            _overrides.pop(identifier, None)
        else:
            _overrides[identifier] = previous
