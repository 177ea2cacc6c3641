"""Domain errors with stable codes.

A `DomainError` is an expected refusal (bad input, a forbidden transition): the API renders it as
RFC 9457 problem+json with its `code`, pages render its German `message`. Anything else that
escapes a request is a bug.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every expected refusal; subclasses set a stable, documented `code`."""

    code: ClassVar[str] = "domain_error"
    #: HTTP status the API uses for this kind of error.
    status: ClassVar[int] = 422

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotFound(DomainError):
    code = "not_found"
    status = 404


class ValidationFailed(DomainError):
    """Input that fails validation; `errors` maps field names to German messages."""

    code = "validation_failed"

    def __init__(self, errors: dict[str, str], message: str | None = None) -> None:
        first = next(iter(errors.values()), "Die Eingaben sind nicht gültig.")
        super().__init__(message or first, field=next(iter(errors), None))
        self.errors = errors


class Conflict(DomainError):
    code = "conflict"
    status = 409


def full_clean_or_fail(instance: Any, *, exclude: list[str] | None = None) -> None:
    """Run Django's model validation and turn its errors into a `ValidationFailed`."""
    from django.core.exceptions import ValidationError  # noqa: PLC0415 - keep errors importable early

    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed(
            {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        ) from exc
