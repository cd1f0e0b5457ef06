"""Checks services run on their input before writing, raising a ValidationError that names
the field and the rule. The database enforces the same rules with CHECK constraints; checking
first gives a clearer message and saves a round trip.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

from apps.core.errors import ValidationError

E = TypeVar("E", bound=Enum)


def one_of(enum: type[E], value: E | str, *, field: str) -> E:
    """``value`` as a member of ``enum``; ValidationError (rule ``one_of``) otherwise."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        raise ValidationError(
            f"{field} must be one of {allowed}, not {value!r}", field=field, rule="one_of"
        ) from None


def not_blank(value: str, *, field: str, max_length: int = 10_000) -> str:
    """``value`` stripped; ValidationError when empty (``not_blank``) or too long."""
    stripped = value.strip()
    if not stripped:
        raise ValidationError(f"{field} must not be blank", field=field, rule="not_blank")
    if len(stripped) > max_length:
        raise ValidationError(
            f"{field} must be at most {max_length} characters", field=field, rule="max_length"
        )
    return stripped


def finite(value: float | None, *, field: str, minimum: float | None = None) -> float | None:
    """A finite number (or None), at least ``minimum`` when given."""
    if value is None:
        return None
    if not math.isfinite(value):
        raise ValidationError(f"{field} must be a finite number", field=field, rule="finite")
    if minimum is not None and value < minimum:
        raise ValidationError(f"{field} must be >= {minimum:g}", field=field, rule="min")
    return float(value)


def at_least(value: int | None, minimum: int, *, field: str) -> int | None:
    """An integer (or None) that is at least ``minimum``."""
    if value is not None and value < minimum:
        raise ValidationError(f"{field} must be >= {minimum}", field=field, rule="min")
    return value


def aware(value: datetime.datetime | None, *, field: str) -> datetime.datetime | None:
    """A timezone-aware datetime (or None): a naive one is ambiguous."""
    if value is not None and value.tzinfo is None:
        raise ValidationError(f"{field} must carry a timezone", field=field, rule="timezone_aware")
    return value


def json_object(value: Mapping[str, Any] | None, *, field: str) -> str:
    """``value`` (None = empty) as the JSON text of an object, for a ``$n::jsonb`` parameter."""
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise ValidationError(f"{field} must be a JSON object", field=field, rule="json")
    if not value:
        return "{}"
    try:
        return json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError):
        raise ValidationError(
            f"{field} must hold JSON values only", field=field, rule="json"
        ) from None
